#!/usr/bin/env bash
# Staff console benchmark (issue 10): change committed by one client -> another browser's DOM
# showing it (the session screen in headless Chromium), against a raw WebSocket subscriber of
# the same session in the same run (bench/console/latency.js). A throwaway PostgreSQL
# (scripts/pg-throwaway.sh) and `fovea serve --demo-data` with SMART on. Prints a markdown table
# of medians over RUNS runs of CHANGES changes each.
#
#   scripts/bench-console.sh            # RUNS=3 CHANGES=100, about two minutes
#
# Environment: RUNS=3, CHANGES=100, WARMUP=5, BUILD_DIR=build, SKIP_BUILD=1 uses the existing
# binary. Results: bench/results/console-latest.jsonl (one JSON line per run).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
RUNS=${RUNS:-3}
CHANGES=${CHANGES:-100}
WARMUP=${WARMUP:-5}
BUILD_DIR=${BUILD_DIR:-build}
if [[ -z "${SKIP_BUILD:-}" ]]; then
  bash scripts/install-deps.sh >&2
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C "$BUILD_DIR" -j"${JOBS:-2}" fovea >&2
fi
(cd tests/e2e && { cmp -s package-lock.json node_modules/.fovea-installed-lock || { npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.fovea-installed-lock; }; })
export FOVEA_BIN=${FOVEA_BIN:-$repo/$BUILD_DIR/bin/fovea}
pgdir=$(mktemp -d /tmp/fovea-bench-console.XXXXXX)
trap 'bash "$repo/scripts/pg-throwaway.sh" stop "$pgdir"' EXIT
export FOVEA_TEST_PG_DSN=$(bash scripts/pg-throwaway.sh start "$pgdir")
mkdir -p bench/results
out=bench/results/console-latest.jsonl
: >"$out"
for ((run = 1; run <= RUNS; ++run)); do
  echo "bench-console: run $run of $RUNS" >&2
  node bench/console/latency.js --changes "$CHANGES" --warmup "$WARMUP" >>"$out"
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
med = lambda k: statistics.median(r[k] for r in rows)
print(f"| | p50 ms | p99 ms |\n|---|---|---|")
print(f"| raw WebSocket notification (baseline) | {med('raw_p50_ms'):.2f} | {med('raw_p99_ms'):.2f} |")
print(f"| console DOM shows it | {med('dom_p50_ms'):.2f} | {med('dom_p99_ms'):.2f} |")
print(f"| ratio console / baseline | {med('dom_p50_ms') / med('raw_p50_ms'):.2f}x | {med('dom_p99_ms') / med('raw_p99_ms'):.2f}x |")
print(f"\n{len(rows)} runs of {rows[0]['changes']} changes; medians over runs.")
PY
