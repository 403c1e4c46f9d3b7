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

# shellcheck source=lib/bench-env.sh
source "$repo/scripts/lib/bench-env.sh"
bench_start_environment bench

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
