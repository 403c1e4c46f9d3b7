#!/usr/bin/env bash
# Subscription delivery benchmark (issue 6): commit-to-frame latency over WebSockets with 1, 100
# and 1,000 bound sockets, and memory per idle bound socket with 10,000, against a baseline in
# the same run: a minimal relay (bench/delivery_bench --mode relay) that LISTENs on a PostgreSQL
# channel with raw libpq and writes each NOTIFY payload as a text frame to all its sockets.
# Throwaway PostgreSQL with default durability (fsync per commit) and `fovea serve --auth off`
# on loopback (scripts/lib/bench-env.sh). Prints markdown tables of medians over RUNS runs.
#
#   scripts/bench-delivery.sh                         # RUNS=3, about 12 minutes
#   RUNS=1 SOCKETS="1 100" SHARED= MEMORY_SOCKETS=2000 scripts/bench-delivery.sh   # a quick look
#
# Environment:
#   RUNS=3                 runs of every cell; runs alternate Fovea/baseline order (ABBA)
#   SOCKETS="1 100 1000"   socket counts for latency (Fovea: one subscription per socket)
#   EVENTS="1000 1000 300" measured events for each SOCKETS entry (the last repeats); a p99
#                          needs many events: of 200 it is the second-worst event's latency
#   WARMUP_EVENTS=5        events before those, not counted
#   GAP_MS=20              pause between one event's last frame and the next write
#   TIMEOUT=5              seconds an event may take to reach every socket (else: lost)
#   SHARED="1000"          socket counts also run with ONE subscription bound on every socket
#                          (fan-out of one notification); empty: skip
#   MEMORY_SOCKETS=10000   idle bound sockets for the memory measurement (0: skip)
#   MEMORY_SHAPE=shared    shared (one subscription on every socket: the socket and its binding)
#                          or per-socket (one subscription each: also the subscriptions' cost)
#   BUILD_DIR=build JOBS=2 build location and parallelism; SKIP_BUILD=1 uses existing binaries
#   FOVEA_BIN, BENCH_BIN   override the binaries (default $BUILD_DIR/bin/...); COMMIT names
#                          the measured commit in the report (default: this checkout's HEAD)
#   PG_BIN                 PostgreSQL bin dir (default: newest /usr/lib/postgresql/*/bin)
# Results: bench/results/delivery-latest.jsonl (one JSON line per run) and the tables on stdout.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

RUNS=${RUNS:-3}
SOCKETS=${SOCKETS:-"1 100 1000"}
EVENTS=${EVENTS:-"1000 1000 300"}
WARMUP_EVENTS=${WARMUP_EVENTS:-5}
GAP_MS=${GAP_MS:-20}
TIMEOUT=${TIMEOUT:-5}
SHARED=${SHARED-1000}
MEMORY_SOCKETS=${MEMORY_SOCKETS:-10000}
MEMORY_SHAPE=${MEMORY_SHAPE:-shared}
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}

log() { echo "bench-delivery: $*" >&2; }

# shellcheck source=lib/bench-env.sh
source "$repo/scripts/lib/bench-env.sh"
bench_build_binaries delivery_bench

# Every socket is a descriptor in the client and one in the server (Fovea or the relay); both
# inherit this shell's limit. Fovea itself does not raise its own.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fd_limit=$(ulimit -n)
need=$((MEMORY_SOCKETS + 1000))
if [[ "$fd_limit" != unlimited && "$MEMORY_SOCKETS" != 0 && "$fd_limit" -lt "$need" ]]; then
  log "open-file limit $fd_limit is below $need: the memory run needs $MEMORY_SOCKETS sockets"
  log "(raise the hard limit, or set MEMORY_SOCKETS lower)"; exit 1
fi

bench_start_environment bench-delivery

relay_pid=""
mem_pids=()
delivery_cleanup() {
  set +e
  for pid in "$relay_pid" "${mem_pids[@]}"; do
    [[ -n "$pid" ]] || continue
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  bench_cleanup
}
trap delivery_cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_relay() {  # port log; sets started_pid
  "$BENCH_BIN" --mode relay --port "$1" --dsn "$dsn" 2>"$2" &
  started_pid=$!
  for _ in $(seq 1 50); do
    grep -q listening "$2" 2>/dev/null && return 0
    kill -0 "$started_pid" 2>/dev/null || { log "the relay exited:"; cat "$2" >&2; exit 1; }
    sleep 0.1
  done
}

relay_port=$(free_port)
log "starting the baseline relay on 127.0.0.1:$relay_port"
start_relay "$relay_port" "$tmp/relay.log"
relay_pid=$started_pid

mkdir -p bench/results
out=bench/results/delivery-latest.jsonl
: >"$out"
failed=0
fovea_limit=$(awk '/Max open files/ {print $4}' "/proc/$server_pid/limits")

events_for() {  # the EVENTS entry at the position of socket count $1 in SOCKETS
  local i=0 n last=""
  local -a ev=($EVENTS)
  for n in $SOCKETS; do
    last=${ev[$i]:-${ev[-1]}}
    [[ "$n" == "$1" ]] && { echo "$last"; return; }
    i=$((i + 1))
  done
  echo "${ev[-1]}"
}

latency() {  # target sockets shape events run
  local target=$1 n=$2 shape=$3 events=$4 run=$5
  local args=(--mode latency --target "$target" --sockets "$n" --events "$events"
              --warmup-events "$WARMUP_EVENTS" --gap-ms "$GAP_MS" --timeout-seconds "$TIMEOUT"
              --label run --run "$run")
  # CPU per event of the server (Fovea or the relay) and of the PostgreSQL cluster.
  args+=(--cpu-of "postgres=$(head -n 1 "$pgdata/postmaster.pid")")
  if [[ "$target" == fovea ]]; then
    args+=(--url "$base" --shape "$shape" --cpu-of "server=$server_pid")
  else
    args+=(--ws-port "$relay_port" --dsn "$dsn" --payload-bytes "$payload_bytes" --cpu-of "server=$relay_pid")
  fi
  local what="relay"
  [[ "$target" == fovea ]] && what="fovea ($shape subscriptions)"
  log "run $run/$RUNS: latency, $what, $n sockets, $events events"
  if ! "$BENCH_BIN" "${args[@]}" >>"$out"; then
    log "delivery_bench failed: latency $target n=$n $shape run $run"
    failed=1
  fi
}

# Memory is measured on a fresh server process each time (a fresh `fovea serve` on the same
# database, or a fresh relay), stopped afterwards: RSS never shrinks back after the latency
# runs, so a long-lived process's "before" would hide the sockets' cost.
memory() {  # target run
  local target=$1 run=$2 mport pid
  mport=$(free_port)
  if [[ "$target" == fovea ]]; then
    "$FOVEA_BIN" serve --database-url "$db_url" --bind 127.0.0.1 --port "$mport" --auth off \
      --rate-limit 0 >"$tmp/fovea-memory.log" 2>&1 &
    pid=$!
    mem_pids+=("$pid")
    for _ in $(seq 1 100); do
      curl -fsS -o /dev/null "http://127.0.0.1:$mport/healthz" 2>/dev/null && break
      sleep 0.1
    done
  else
    start_relay "$mport" "$tmp/relay-memory.log"
    pid=$started_pid
    mem_pids+=("$pid")
  fi
  local args=(--mode memory --target "$target" --sockets "$MEMORY_SOCKETS" --server-pid "$pid"
              --label run --run "$run")
  if [[ "$target" == fovea ]]; then
    args+=(--url "http://127.0.0.1:$mport/fhir/R4" --shape "$MEMORY_SHAPE")
  else
    args+=(--ws-port "$mport")
  fi
  log "run $run/$RUNS: memory $target (fresh process), $MEMORY_SOCKETS idle bound sockets"
  if ! "$BENCH_BIN" "${args[@]}" >>"$out"; then
    log "delivery_bench failed: memory $target run $run (see the JSON line)"
    failed=1
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    log "the $target server died during the memory run"; failed=1
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  mem_pids=()
}

# The relay sends payloads as large as Fovea's event frames: measure those first.
log "probe: the size of Fovea's event frames"
"$BENCH_BIN" --mode latency --target fovea --sockets 1 --events 10 --warmup-events 2 \
  --url "$base" --label probe >>"$out"
payload_bytes=$(tail -n1 "$out" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["frame_bytes"]))')
log "Fovea's event frames: $payload_bytes bytes; the relay's payloads will be as large"

for run in $(seq 1 "$RUNS"); do
  order="fovea relay"
  (( run % 2 == 0 )) && order="relay fovea"
  for n in $SOCKETS; do
    for target in $order; do
      latency "$target" "$n" per-socket "$(events_for "$n")" "$run"
    done
  done
  for n in $SHARED; do
    latency fovea "$n" shared "$(events_for "$n")" "$run"
  done
  if [[ "$MEMORY_SOCKETS" != 0 ]]; then
    for target in $order; do
      memory "$target" "$run"
    done
  fi
done

if ! kill -0 "$server_pid" 2>/dev/null; then
  log "fovea died during the run:"; tail -n 50 "$tmp/fovea.log" >&2; failed=1
fi
if ! kill -0 "$relay_pid" 2>/dev/null; then
  log "the relay died during the run:"; tail -n 20 "$tmp/relay.log" >&2; failed=1
fi
grep -iE "warn|error" "$tmp/fovea.log" | grep -v "authorisation is OFF" | tail -n 20 >&2 || true

pg_version=$("$PG_BIN/postgres" --version)
python3 scripts/bench_delivery_report.py "$out" --pg-version "$pg_version" --runs "$RUNS" \
  --gap-ms "$GAP_MS" --warmup "$WARMUP_EVENTS" --fd-limit "$fovea_limit" \
  --commit "${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}"
exit "$failed"
