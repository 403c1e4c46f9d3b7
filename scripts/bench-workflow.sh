#!/usr/bin/env bash
# Screening workflow benchmark (issue 7): sessions per second with C concurrent clients and the
# step-completion-to-notification latency, against the plain Task update path in the same run
# (bench/workflow_bench.cpp says exactly what each side sends). Throwaway PostgreSQL with default
# durability (fsync per commit) and `fovea serve --auth off` on loopback (scripts/lib/bench-env.sh).
# Prints markdown tables of medians over RUNS runs.
#
#   scripts/bench-workflow.sh                          # RUNS=3, about 6 minutes
#   RUNS=1 CLIENTS="1 4" DURATION=5 SAMPLES=50 scripts/bench-workflow.sh   # a quick look
#
# Environment:
#   RUNS=3              runs of every cell; runs alternate workflow/plain order (ABBA)
#   CLIENTS="1 4 8"     concurrent clients (each has a second connection for the parallel step)
#   DURATION=10         measured seconds per throughput cell
#   WARMUP=2            seconds before those, not counted
#   SAMPLES=200         notification latencies per latency cell (after 5 warm-up ones)
#   GAP_MS=20           pause before and after each timed completion in the latency cells
#   TIMEOUT=5           seconds a notification may take (else: lost)
#   BUILD_DIR=build JOBS=2 build location and parallelism; SKIP_BUILD=1 uses existing binaries
#   FOVEA_BIN, BENCH_BIN  override the binaries (default $BUILD_DIR/bin/...); COMMIT names the
#                       measured commit in the report (default: this checkout's HEAD)
#   PG_BIN              PostgreSQL bin dir (default: newest /usr/lib/postgresql/*/bin)
# Results: bench/results/workflow-latest.jsonl (one JSON line per cell and run), the load
# average before and after, and the tables on stdout.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

RUNS=${RUNS:-3}
CLIENTS=${CLIENTS:-"1 4 8"}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
SAMPLES=${SAMPLES:-200}
GAP_MS=${GAP_MS:-20}
TIMEOUT=${TIMEOUT:-5}
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}

log() { echo "bench-workflow: $*" >&2; }

# shellcheck source=lib/bench-env.sh
source "$repo/scripts/lib/bench-env.sh"
bench_build_binaries workflow_bench

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

bench_start_environment bench-workflow

mkdir -p bench/results
out=bench/results/workflow-latest.jsonl
: >"$out"
failed=0

cell() {  # description, then workflow_bench arguments
  local what=$1
  shift
  log "$what"
  if ! "$BENCH_BIN" --url "$base" --label run "$@" >>"$out"; then
    log "workflow_bench failed: $what (see the JSON line)"
    failed=1
  fi
}

# A short warm-up of both paths first (caches, plan, connection pools), not reported.
"$BENCH_BIN" --url "$base" --mode sessions --clients 2 --duration 2 --warmup 1 --label warmup >>"$out"
"$BENCH_BIN" --url "$base" --mode plain --clients 2 --duration 2 --warmup 1 --label warmup >>"$out"

for run in $(seq 1 "$RUNS"); do
  order="sessions plain"
  (( run % 2 == 0 )) && order="plain sessions"
  for c in $CLIENTS; do
    for mode in $order; do
      cell "run $run/$RUNS: $mode, $c clients, ${DURATION}s" --mode "$mode" --clients "$c" \
        --duration "$DURATION" --warmup "$WARMUP" --run "$run"
    done
  done
  targets="workflow plain"
  (( run % 2 == 0 )) && targets="plain workflow"
  for target in $targets; do
    cell "run $run/$RUNS: latency $target, $SAMPLES samples" --mode latency --target "$target" \
      --samples "$SAMPLES" --gap-ms "$GAP_MS" --timeout-seconds "$TIMEOUT" --run "$run"
  done
done

if ! kill -0 "$server_pid" 2>/dev/null; then
  log "fovea died during the run:"; tail -n 50 "$tmp/fovea.log" >&2; failed=1
fi
grep -iE "warn|error" "$tmp/fovea.log" | grep -v "authorisation is OFF" | tail -n 20 >&2 || true
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

pg_version=$("$PG_BIN/postgres" --version)
python3 scripts/bench_workflow_report.py "$out" --pg-version "$pg_version" --runs "$RUNS" \
  --duration "$DURATION" --warmup "$WARMUP" --gap-ms "$GAP_MS" \
  --load-before "$load_before" --load-after "$load_after" \
  --commit "${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}"
exit "$failed"
