#!/usr/bin/env bash
# HL7 v2 benchmark (issue 9): ADT^A04 messages per second through Fovea's MLLP listener with the
# application ACK (sent after the inbox commit and the FHIR transaction), with 1 and 8
# connections, against the same messages' transaction Bundles POSTed over HTTP (the FHIR write
# alone) and a raw MLLP echo (bench/hl7v2_bench.cpp), in the same run. Throwaway
# PostgreSQL with default durability (fsync per commit) and `fovea serve --auth off --mllp-port`
# on loopback (scripts/lib/bench-env.sh). Prints a markdown table of medians over RUNS runs.
#
#   scripts/bench-hl7v2.sh                           # RUNS=3, about 2 minutes
#   RUNS=1 DURATION=3 scripts/bench-hl7v2.sh         # a quick look
#
# Environment:
#   RUNS=3              runs of every cell; runs alternate fovea/http/echo order (ABBA)
#   CONNECTIONS="1 8"   concurrent MLLP connections
#   DURATION=10 WARMUP=2  measured seconds per cell, and seconds before them not counted
#   BUILD_DIR=build JOBS=2 build location and parallelism; SKIP_BUILD=1 uses existing binaries
#   FOVEA_BIN, BENCH_BIN  override the binaries; COMMIT names the measured commit in the report
#   PG_BIN              PostgreSQL bin dir (default: newest /usr/lib/postgresql/*/bin)
# Results: bench/results/hl7v2-latest.jsonl (one JSON line per cell and run) and the table.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-"1 8"}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}

log() { echo "bench-hl7v2: $*" >&2; }

# shellcheck source=lib/bench-env.sh
source "$repo/scripts/lib/bench-env.sh"
bench_build_binaries hl7v2_bench

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
mllp_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export FOVEA_SERVE_ARGS="--auth off --rate-limit 0 --mllp-port $mllp_port"

bench_start_environment bench-hl7v2

mkdir -p bench/results
out=bench/results/hl7v2-latest.jsonl
: >"$out"
failed=0

cell() {  # description, then hl7v2_bench arguments
  local what=$1
  shift
  log "$what"
  if ! "$BENCH_BIN" --label run "$@" >>"$out"; then
    log "hl7v2_bench failed: $what (see the JSON line)"
    failed=1
  fi
}

# A short warm-up of both (caches, plans, connection pools), not reported.
"$BENCH_BIN" --mode fovea --port "$mllp_port" --connections 2 --duration 2 --warmup 1 --label warmup >>"$out"
"$BENCH_BIN" --mode http --http-port "$port" --connections 2 --duration 2 --warmup 1 --label warmup >>"$out"
"$BENCH_BIN" --mode echo --connections 2 --duration 1 --warmup 0 --label warmup >>"$out"

for run in $(seq 1 "$RUNS"); do
  order="fovea http echo"
  (( run % 2 == 0 )) && order="echo http fovea"
  for c in $CONNECTIONS; do
    for mode in $order; do
      cell "run $run/$RUNS: $mode, $c connection(s), ${DURATION}s" --mode "$mode" --port "$mllp_port" --http-port "$port" \
        --connections "$c" --duration "$DURATION" --warmup "$WARMUP" --run "$run"
    done
  done
done

if ! kill -0 "$server_pid" 2>/dev/null; then
  log "fovea died during the run:"; tail -n 50 "$tmp/fovea.log" >&2; failed=1
fi
grep -iE "warn|error" "$tmp/fovea.log" | grep -v "authorisation is OFF" | tail -n 20 >&2 || true
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

pg_version=$("$PG_BIN/postgres" --version)
python3 scripts/bench_hl7v2_report.py "$out" --pg-version "$pg_version" --runs "$RUNS" \
  --duration "$DURATION" --warmup "$WARMUP" --load-before "$load_before" --load-after "$load_after" \
  --commit "${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}"
exit "$failed"
