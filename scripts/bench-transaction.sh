#!/usr/bin/env bash
# Transaction ingest benchmark: POSTs transaction Bundles of 100 entries (10 Patients, each with
# 1 Encounter and 8 Observations, linked by urn:uuid fullUrls) to Fovea, against a raw libpq
# baseline that writes the same rows (resource, history, change-log event, search index) with
# the store's own statement in one transaction per Bundle, in the same run. Throwaway
# PostgreSQL with default durability (fsync per commit), as scripts/bench.sh. Prints a markdown
# table of medians (resources/s) and the ratio Fovea/baseline.
#
#   scripts/bench-transaction.sh                       # RUNS=3 DURATION=10, concurrency 1 4 8
#   RUNS=5 DURATION=20 scripts/bench-transaction.sh
#   BUNDLES=200 scripts/bench-transaction.sh           # a fixed Bundle count per run instead
#
# Environment:
#   RUNS=3 DURATION=10 WARMUP=1   runs per cell, measured seconds, warm-up seconds
#   BUNDLES                       if set, each run sends this many Bundles instead of DURATION
#   CONCURRENCY="1 4 8"           client concurrencies
#   PREFER=minimal                Prefer: return=minimal|representation for Fovea
#   CHECK_BUNDLES=2               Bundles per mode of the row check that runs first (0: skip)
#   RESET=1                       empty the resource and index tables before each concurrency
#                                 (0: let the database grow over the whole benchmark)
#   PREFILL=10                    after emptying, write Bundles with the baseline (4 connections)
#                                 for this many seconds, not measured (0: none)
#   BUILD_DIR=build JOBS=2        build location and parallelism
#   SKIP_BUILD=1                  use existing binaries
#   FOVEA_BIN, BENCH_BIN          override the binaries (default $BUILD_DIR/bin/...)
#   PG_BIN                        PostgreSQL bin dir (default: newest /usr/lib/postgresql/*/bin)
# Results: bench/results/transaction-latest.jsonl (one JSON line per run) and the table on
# stdout.
#
# The database grows by ~10 MB per 1,000 resources, and ingest slows down as it outgrows
# PostgreSQL's default 128 MB of shared buffers and checkpoints (max_wal_size 1 GB) and
# autovacuum start: on empty tables the first seconds run up to twice as fast. So each
# concurrency starts from the same state, emptied tables pre-filled by the baseline (RESET=1,
# PREFILL), and within it the runs go baseline, Fovea, then Fovea, baseline, and so on (ABBA), so
# that growth, checkpoints and autovacuum weigh on both modes alike. The first run of a cell is
# still often the fastest; the median over runs and the paired ratio absorb that.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-1}
BUNDLES=${BUNDLES:-}
CONCURRENCY=${CONCURRENCY:-"1 4 8"}
PREFER=${PREFER:-minimal}
CHECK_BUNDLES=${CHECK_BUNDLES:-2}
RESET=${RESET:-1}
PREFILL=${PREFILL:-10}
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}
FOVEA_BIN=${FOVEA_BIN:-$BUILD_DIR/bin/fovea}
BENCH_BIN=${BENCH_BIN:-$BUILD_DIR/bin/transaction_bench}

log() { echo "bench-transaction: $*" >&2; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  cmake -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DFOVEA_BUILD_BENCH=ON >&2
  cmake --build "$BUILD_DIR" -j"$JOBS" --target fovea transaction_bench >&2
fi
for bin in "$FOVEA_BIN" "$BENCH_BIN"; do
  [[ -x "$bin" ]] || { log "missing $bin"; exit 1; }
done
FOVEA_BIN=$(realpath "$FOVEA_BIN")
BENCH_BIN=$(realpath "$BENCH_BIN")

# shellcheck source=lib/bench-env.sh
source "$repo/scripts/lib/bench-env.sh"
bench_start_environment bench-transaction

mkdir -p bench/results
out=bench/results/transaction-latest.jsonl
: >"$out"
failed=0

if [[ "$BUNDLES" != "" ]]; then
  amount=(--bundles "$BUNDLES")
  amount_text="$BUNDLES Bundles"
else
  amount=(--duration "$DURATION")
  amount_text="$DURATION s"
fi

# First, on the still empty database: the rows each mode writes per Bundle, to show that the
# baseline writes what Fovea writes.
if [[ "$CHECK_BUNDLES" != 0 ]]; then
  for mode in baseline fovea; do
    log "row check: $mode, $CHECK_BUNDLES Bundles"
    if ! "$BENCH_BIN" --mode "$mode" --concurrency 1 --bundles "$CHECK_BUNDLES" --check-rows \
        --url "$base" --dsn "$dsn" --prefer "$PREFER" --label check >>"$out"; then
      log "row check failed: $mode"
      failed=1
    fi
  done
fi

# Empties the tables Fovea and the baseline write (the server holds no copy of their rows) and
# checkpoints, so that the next cell starts where the first did.
psql_bin=$PG_BIN/psql
[[ -x "$psql_bin" ]] || psql_bin=psql
reset_tables() {
  local tables
  tables=$("$psql_bin" "$dsn" -XqAt -v ON_ERROR_STOP=1 -c "
      SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables
      WHERE schemaname = 'public'
        AND (tablename IN ('resource', 'resource_history', 'event', 'audit_event')
             OR tablename LIKE 'sp\_%')")
  "$psql_bin" "$dsn" -XqAt -v ON_ERROR_STOP=1 -c "TRUNCATE $tables" -c "CHECKPOINT" >/dev/null
}

for c in $CONCURRENCY; do
  if [[ "$RESET" == 1 ]]; then
    log "c=$c: emptying the tables"
    reset_tables
    if [[ "$PREFILL" != 0 ]]; then
      log "c=$c: pre-filling for ${PREFILL}s (baseline, not measured)"
      "$BENCH_BIN" --mode baseline --concurrency 4 --duration "$PREFILL" --warmup-seconds 0 \
        --dsn "$dsn" --label prefill >>"$out" || { log "the pre-fill failed"; failed=1; }
    fi
  fi
  for run in $(seq 1 "$RUNS"); do
    order="baseline fovea"
    (( run % 2 == 0 )) && order="fovea baseline"
    for mode in $order; do
      log "c=$c $mode run $run/$RUNS ($amount_text)"
      if ! "$BENCH_BIN" --mode "$mode" --concurrency "$c" "${amount[@]}" \
          --warmup-seconds "$WARMUP" --url "$base" --dsn "$dsn" --prefer "$PREFER" \
          --label run >>"$out"; then
        log "transaction_bench failed: c=$c $mode run $run"
        failed=1
      fi
    done
  done
done

if ! kill -0 "$server_pid" 2>/dev/null; then
  log "fovea died during the run:"; tail -n 50 "$tmp/fovea.log" >&2; failed=1
fi

pg_version=$("$PG_BIN/postgres" --version)
python3 scripts/bench_transaction_report.py "$out" --pg-version "$pg_version" --runs "$RUNS" \
  --amount "$amount_text" --warmup "$WARMUP" --reset "$RESET" --prefill "$PREFILL" \
  --commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
exit "$failed"
