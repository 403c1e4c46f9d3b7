#!/usr/bin/env bash
# Benchmarks Fovea create/read over HTTP against the same SQL over raw libpq (the baseline), on a
# throwaway PostgreSQL cluster, and prints a markdown table of medians and ratios.
#
#   scripts/bench.sh                      # RUNS=3 DURATION=5
#   RUNS=5 DURATION=10 scripts/bench.sh
#
# Environment:
#   RUNS, DURATION, WARMUP      repetitions per cell, measured seconds, warm-up seconds
#   CONCURRENCY="1 8 32"        client concurrencies; OPS="create read"
#   BUILD_DIR=build JOBS=2      build location and parallelism
#   SKIP_BUILD=1                use existing binaries
#   FOVEA_BIN, BENCH_BIN        override the binaries (default $BUILD_DIR/bin/...)
#   PG_BIN                      PostgreSQL bin dir (default: newest /usr/lib/postgresql/*/bin)
# Results: bench/results/latest.jsonl (one JSON line per run) and the table on stdout.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
CONCURRENCY=${CONCURRENCY:-"1 8 32"}
OPS=${OPS:-"create read"}
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}
FOVEA_BIN=${FOVEA_BIN:-$BUILD_DIR/bin/fovea}
BENCH_BIN=${BENCH_BIN:-$BUILD_DIR/bin/fovea_bench}

log() { echo "bench: $*" >&2; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  cmake -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DFOVEA_BUILD_BENCH=ON >&2
  cmake --build "$BUILD_DIR" -j"$JOBS" --target fovea fovea_bench >&2
fi
for bin in "$FOVEA_BIN" "$BENCH_BIN"; do
  [[ -x "$bin" ]] || { log "missing $bin"; exit 1; }
done
FOVEA_BIN=$(realpath "$FOVEA_BIN")
BENCH_BIN=$(realpath "$BENCH_BIN")

if [[ -z "${PG_BIN:-}" ]]; then
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
fi
[[ -x "$PG_BIN/initdb" ]] || { log "no PostgreSQL server binaries (set PG_BIN)"; exit 1; }

# PostgreSQL refuses to run as root, so as root the cluster belongs to the postgres user.
as_pg=()
if [[ $(id -u) == 0 ]]; then
  as_pg=(runuser -u postgres --)
fi

tmp=$(mktemp -d -t fovea-bench.XXXXXX)
pgdata=$tmp/data
server_pid=""

cleanup() {
  set +e
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  if [[ -f "$pgdata/postmaster.pid" ]]; then
    "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$pgdata" -m immediate -w stop >/dev/null 2>&1
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ ${#as_pg[@]} -gt 0 ]]; then
  chown postgres: "$tmp"
fi

log "starting PostgreSQL from $PG_BIN in $pgdata"
"${as_pg[@]}" "$PG_BIN/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --no-sync \
  >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; exit 1; }
# Unix socket only, inside the data dir: nothing listens on the network. Durability settings are
# PostgreSQL's defaults, so the numbers include a real commit (fsync) per write.
"${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$pgdata" -l "$tmp/postgres.log" -w \
  -o "-c listen_addresses='' -c unix_socket_directories='$pgdata' -c max_connections=200" \
  start >/dev/null || { cat "$tmp/postgres.log" >&2; exit 1; }

dsn="host=$pgdata port=5432 dbname=postgres user=postgres"
db_url="postgresql:///postgres?host=$pgdata&port=5432&user=postgres"

"$FOVEA_BIN" migrate --database-url "$db_url" >&2

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port/fhir/R4"
log "starting fovea on 127.0.0.1:$port"
"$FOVEA_BIN" serve --database-url "$db_url" --bind 127.0.0.1 --port "$port" \
  >"$tmp/fovea.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    log "fovea exited during start-up:"; cat "$tmp/fovea.log" >&2; exit 1
  fi
  sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" || {
  log "fovea not healthy after 10s:"; cat "$tmp/fovea.log" >&2; exit 1; }

mkdir -p bench/results
out=bench/results/latest.jsonl
: >"$out"
failed=0
for op in $OPS; do
  for c in $CONCURRENCY; do
    for mode in libpq http; do
      for run in $(seq 1 "$RUNS"); do
        log "$op c=$c $mode run $run/$RUNS"
        if ! "$BENCH_BIN" --mode "$mode" --op "$op" --concurrency "$c" \
            --duration-seconds "$DURATION" --warmup-seconds "$WARMUP" \
            --base "$base" --dsn "$dsn" >>"$out"; then
          log "fovea_bench failed: $op c=$c $mode run $run"
          failed=1
        fi
      done
    done
  done
done

if ! kill -0 "$server_pid" 2>/dev/null; then
  log "fovea died during the run:"; tail -n 50 "$tmp/fovea.log" >&2; failed=1
fi

pg_version=$("$PG_BIN/postgres" --version)
python3 scripts/bench_report.py "$out" --pg-version "$pg_version" --runs "$RUNS" \
  --duration "$DURATION"
exit "$failed"
