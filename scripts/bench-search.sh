#!/usr/bin/env bash
# Search benchmark: loads 10,000 Patients and 200,000 Observations through Fovea's write path
# (HTTP PUT), then times typical searches over HTTP against Fovea's own generated SQL and
# hand-written SQL over the same sp_* tables (both over raw libpq), checks every plan for a
# sequential scan of an sp_* table, and measures create throughput with indexing. Throwaway
# PostgreSQL with default durability (fsync per commit), as scripts/bench.sh.
#
#   scripts/bench-search.sh
#   PATIENTS=1000 OBSERVATIONS=20000 ITERATIONS=50 scripts/bench-search.sh   # a quick run
#
# Environment:
#   PATIENTS=10000 OBSERVATIONS=200000   data set size
#   LOAD_CONCURRENCY=8 LOAD_TIMEOUT=1200 loader connections, time bound of the load (seconds)
#   ITERATIONS=200 WARMUP=20             measured and warm-up iterations per query
#   CREATE_RUNS=3 CREATE_DURATION=5 CREATE_CONCURRENCY=8
#   FOVEA_BENCH=auto                     also run fovea_bench create (http and libpq baseline)
#                                        at CREATE_CONCURRENCY when it is built (auto|0|1)
#   BUILD_DIR=build JOBS=2 SKIP_BUILD=1  as scripts/bench.sh
#   FOVEA_BIN, SEARCH_BENCH_BIN, FOVEA_BENCH_BIN, PG_BIN
# Results: bench/results/search-<time>.txt (tables, plans, raw JSON lines) and the tables on
# stdout.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

PATIENTS=${PATIENTS:-10000}
OBSERVATIONS=${OBSERVATIONS:-200000}
LOAD_CONCURRENCY=${LOAD_CONCURRENCY:-8}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-1200}
ITERATIONS=${ITERATIONS:-200}
WARMUP=${WARMUP:-20}
CREATE_RUNS=${CREATE_RUNS:-3}
CREATE_DURATION=${CREATE_DURATION:-5}
CREATE_CONCURRENCY=${CREATE_CONCURRENCY:-8}
FOVEA_BENCH=${FOVEA_BENCH:-auto}
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}
FOVEA_BIN=${FOVEA_BIN:-$BUILD_DIR/bin/fovea}
SEARCH_BENCH_BIN=${SEARCH_BENCH_BIN:-$BUILD_DIR/bin/search_bench}
FOVEA_BENCH_BIN=${FOVEA_BENCH_BIN:-$BUILD_DIR/bin/fovea_bench}

log() { echo "bench-search: $*" >&2; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  cmake -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DFOVEA_BUILD_BENCH=ON >&2
  cmake --build "$BUILD_DIR" -j"$JOBS" --target fovea search_bench >&2
  if [[ "$FOVEA_BENCH" != 0 ]]; then
    cmake --build "$BUILD_DIR" -j"$JOBS" --target fovea_bench >&2 ||
      log "fovea_bench did not build; its create numbers are skipped"
  fi
fi
for bin in "$FOVEA_BIN" "$SEARCH_BENCH_BIN"; do
  [[ -x "$bin" ]] || { log "missing $bin"; exit 1; }
done
FOVEA_BIN=$(realpath "$FOVEA_BIN")
SEARCH_BENCH_BIN=$(realpath "$SEARCH_BENCH_BIN")
run_fovea_bench=0
if [[ "$FOVEA_BENCH" == 1 || ( "$FOVEA_BENCH" == auto && -x "$FOVEA_BENCH_BIN" ) ]]; then
  [[ -x "$FOVEA_BENCH_BIN" ]] || { log "missing $FOVEA_BENCH_BIN"; exit 1; }
  FOVEA_BENCH_BIN=$(realpath "$FOVEA_BENCH_BIN")
  run_fovea_bench=1
fi

# shellcheck source=lib/bench-env.sh
source "$repo/scripts/lib/bench-env.sh"
bench_start_environment bench-search

mkdir -p bench/results
stamp=$(date -u +%Y%m%d-%H%M%S)
jsonl=bench/results/search-$stamp.jsonl
plans=bench/results/search-$stamp.plans.txt
out=bench/results/search-$stamp.txt
: >"$jsonl"
failed=0

log "loading $PATIENTS Patients and $OBSERVATIONS Observations (c=$LOAD_CONCURRENCY, at most ${LOAD_TIMEOUT}s)"
"$SEARCH_BENCH_BIN" --phase load --base "$base" --dsn "$dsn" --patients "$PATIENTS" \
  --observations "$OBSERVATIONS" --concurrency "$LOAD_CONCURRENCY" \
  --timeout-seconds "$LOAD_TIMEOUT" >>"$jsonl" || { log "the load was incomplete"; failed=1; }

log "queries: $ITERATIONS iterations each after $WARMUP warm-up"
"$SEARCH_BENCH_BIN" --phase query --base "$base" --dsn "$dsn" --iterations "$ITERATIONS" \
  --warmup "$WARMUP" --plans-out "$plans" >>"$jsonl" ||
  { log "queries: errors or result mismatches (see the table)"; failed=1; }

# Creates last, so the extra Observations do not change what the queries see.
for run in $(seq 1 "$CREATE_RUNS"); do
  log "create c=$CREATE_CONCURRENCY run $run/$CREATE_RUNS"
  "$SEARCH_BENCH_BIN" --phase create --base "$base" --dsn "$dsn" \
    --concurrency "$CREATE_CONCURRENCY" --duration-seconds "$CREATE_DURATION" \
    --warmup-seconds 1 >>"$jsonl" || { log "create run $run failed"; failed=1; }
  if [[ $run_fovea_bench == 1 ]]; then
    for mode in libpq http; do
      log "fovea_bench create $mode c=$CREATE_CONCURRENCY run $run/$CREATE_RUNS"
      line=$("$FOVEA_BENCH_BIN" --mode "$mode" --op create --concurrency "$CREATE_CONCURRENCY" \
        --duration-seconds "$CREATE_DURATION" --warmup-seconds 1 --base "$base" --dsn "$dsn") ||
        { log "fovea_bench $mode failed"; failed=1; continue; }
      echo "{\"kind\":\"fovea_bench\",\"run\":$run,\"result\":$line}" >>"$jsonl"
    done
  fi
done

if ! kill -0 "$server_pid" 2>/dev/null; then
  log "fovea died during the run:"; tail -n 50 "$tmp/fovea.log" >&2; failed=1
fi

pg_version=$("$PG_BIN/postgres" --version)
python3 scripts/bench_search_report.py "$jsonl" --pg-version "$pg_version" \
  --commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" >"$out.tables"
{
  cat "$out.tables"
  echo
  echo "## Plans (EXPLAIN ANALYZE, BUFFERS; first measured iteration of each query)"
  echo
  cat "$plans" 2>/dev/null || echo "(no plans written)"
  echo
  echo "## Raw results (JSON lines)"
  echo
  cat "$jsonl"
} >"$out"
rm -f "$out.tables"
sed -n '1,/^## Plans/p' "$out" | sed '$d'
log "results: $out"
exit "$failed"
