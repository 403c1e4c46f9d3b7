#!/usr/bin/env bash
# The cost of security: Fovea create/read throughput with authorisation and the audit trail on
# (SMART bearer token checked on every request, an AuditEvent per read, AuditEvent + Provenance
# in every write's transaction) against the same build with --auth off, in one run on one
# PostgreSQL cluster (a database per server). Runs alternate off/on, in ABBA order, so drift hits
# both. Prints a markdown table of medians.
#
#   scripts/bench-auth.sh                 # RUNS=3 DURATION=5 CONCURRENCY="1 8"
#
# Environment: RUNS, DURATION, WARMUP, CONCURRENCY, OPS, BUILD_DIR, JOBS, SKIP_BUILD, PG_BIN
# (as scripts/bench.sh); AUTH_SERVE_ARGS: more flags for the auth-on server (e.g.
# "--provenance audit-trail"). Results: bench/results/auth.jsonl.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
CONCURRENCY=${CONCURRENCY:-"1 8"}
OPS=${OPS:-"create read"}
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}
FOVEA_BIN=${FOVEA_BIN:-$BUILD_DIR/bin/fovea}
BENCH_BIN=${BENCH_BIN:-$BUILD_DIR/bin/fovea_bench}

log() { echo "bench-auth: $*" >&2; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  cmake -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DFOVEA_BUILD_BENCH=ON >&2
  cmake --build "$BUILD_DIR" -j"$JOBS" --target fovea fovea_bench >&2
fi
FOVEA_BIN=$(realpath "$FOVEA_BIN")
BENCH_BIN=$(realpath "$BENCH_BIN")

# No checkpoint during the measured runs. Right after one, the first change to every page
# writes the whole page to the WAL; a run that happened to follow a checkpoint paid for that,
# the more so the more pages it touches at random (a create with auth on touches more: its
# Provenance's primary key, its audit row's indexes). Over a production checkpoint interval
# (minutes, hundreds of thousands of writes) that cost is spread thin. The WAL each request
# writes is reported instead (wal_bytes_per_op).
PG_SETTINGS="-c checkpoint_timeout=1h -c max_wal_size=20GB ${PG_SETTINGS:-}"
# shellcheck source=lib/bench-env.sh
source "$repo/scripts/lib/bench-env.sh"
bench_start_environment bench-auth  # the --auth off server: $base
off_base=$base

# A second server with authorisation and audit on, on a database of its own in the same
# PostgreSQL cluster: each server is then a single node that runs its own subscription matcher,
# as a van's server does. (On one database, one server's matcher would match both servers'
# writes, charging that work to one of them; and only its writes would wake the matcher
# directly, the other's would NOTIFY: fhir/store/pg/event_announcer.h.)
"${as_pg[@]}" "$PG_BIN/psql" -X -q -h "$pgdata" -U postgres -d postgres -c "CREATE DATABASE fovea_auth" >&2
auth_db_url="postgresql:///fovea_auth?host=$pgdata&port=5432&user=postgres"
"$FOVEA_BIN" migrate --database-url "$auth_db_url" >&2
auth_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# shellcheck disable=SC2086
"$FOVEA_BIN" serve --database-url "$auth_db_url" --bind 127.0.0.1 --port "$auth_port" --rate-limit 0 ${AUTH_SERVE_ARGS:-} \
  >"$tmp/fovea-auth.log" 2>&1 &
auth_pid=$!
trap 'kill "$auth_pid" 2>/dev/null; wait "$auth_pid" 2>/dev/null; bench_cleanup' EXIT
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$auth_port/healthz" 2>/dev/null && break
  sleep 0.1
done
on_base="http://127.0.0.1:$auth_port/fhir/R4"

password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
"$FOVEA_BIN" user add --database-url "$auth_db_url" --username bench.tech --role technician \
  --name "Bench Technician" --password-stdin <<<"$password" >&2
"$FOVEA_BIN" client add --database-url "$auth_db_url" --client-id bench --public --first-party \
  --redirect-uri http://127.0.0.1/cb >&2
token() {
  curl -fsS "http://127.0.0.1:$auth_port/auth/token" -d grant_type=password -d client_id=bench \
    -d username=bench.tech --data-urlencode "password=$password" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# Every run starts from vacuumed databases. The PostgreSQL CPU is measured for the whole
# cluster, so the dead rows and autovacuum work one run leaves (the previous run's creates, the
# other server's) would otherwise be cleaned up during a later run and charged to whichever
# server happened to be measured then.
settle() {
  for database in postgres fovea_auth; do
    "${as_pg[@]}" "$PG_BIN/psql" -X -q -h "$pgdata" -U postgres -d "$database" -c "VACUUM (ANALYZE)" >&2
  done
}
wal_lsn() { "${as_pg[@]}" "$PG_BIN/psql" -X -q -At -h "$pgdata" -U postgres -d postgres -c "SELECT pg_current_wal_lsn()"; }
# Adds the WAL written since `$1` (an LSN), per request, to the last result line.
add_wal_per_op() {
  local bytes
  bytes=$("${as_pg[@]}" "$PG_BIN/psql" -X -q -At -h "$pgdata" -U postgres -d postgres \
    -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$1')")
  python3 - "$out" "$bytes" "$WARMUP" <<'PY'
import json, sys
path, wal, warmup = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
lines = open(path).read().splitlines()
last = json.loads(lines[-1])
# Warm-up requests write WAL too: spread it over all requests of the run, at the measured rate.
total_ops = last["ops"] * (1 + warmup / max(last["seconds"], 1e-9))
last["wal_bytes_per_op"] = wal / max(total_ops, 1)
lines[-1] = json.dumps(last)
open(path, "w").write("\n".join(lines) + "\n")
PY
}

mkdir -p bench/results
out=bench/results/auth.jsonl
: >"$out"
failed=0
for op in $OPS; do
  for c in $CONCURRENCY; do
    for run in $(seq 1 "$RUNS"); do
      # ABBA: odd runs measure auth-off first, even runs auth-on first. This VM's speed drifts
      # by tens of percent over seconds to minutes (docs/PERFORMANCE.md); with one fixed order a
      # steady drift would always favour the same side of every pair, alternating cancels it.
      labels=(auth-off auth-on)
      if (( run % 2 == 0 )); then labels=(auth-on auth-off); fi
      for label in "${labels[@]}"; do
        settle
        log "$op c=$c $label run $run/$RUNS"
        args=(--mode http --op "$op" --concurrency "$c" --duration-seconds "$DURATION"
              --warmup-seconds "$WARMUP" --label "$label")
        # CPU per request of the server under test and of the PostgreSQL cluster (where the
        # audit rows are written), whatever else the machine is doing.
        args+=(--cpu-of "postgres=$(head -n 1 "$pgdata/postmaster.pid")")
        if [[ $label == auth-on ]]; then
          args+=(--base "$on_base" --bearer "$(token)" --cpu-of "fovea=$auth_pid")  # fresh token: they live 10 minutes
        else
          args+=(--base "$off_base" --cpu-of "fovea=$server_pid")
        fi
        lsn=$(wal_lsn)
        if "$BENCH_BIN" "${args[@]}" >>"$out"; then add_wal_per_op "$lsn"; else log "fovea_bench failed"; failed=1; fi
      done
    done
  done
done
kill -0 "$auth_pid" 2>/dev/null || { log "the auth server died"; tail -n 30 "$tmp/fovea-auth.log" >&2; failed=1; }

python3 scripts/bench_auth_report.py "$out" --runs "$RUNS" --duration "$DURATION"
exit "$failed"
