# Shared by the scripts/bench*.sh (sourced, not run). bench_build_binaries: fovea and one
# benchmark driver, built unless SKIP_BUILD=1. bench_start_environment: a throwaway
# PostgreSQL with default durability (a real fsync per commit), migrated, and a Fovea serving on
# a free loopback port. Needs FOVEA_BIN and a log function; sets tmp, pgdata, dsn, db_url, port,
# base and server_pid, and removes everything on exit. PG_SETTINGS (e.g. "-c autovacuum=off")
# adds server settings for an experiment; the reported figures use none.

bench_start_environment() {
  local label=$1
  if [[ -z "${PG_BIN:-}" ]]; then
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  fi
  [[ -x "$PG_BIN/initdb" ]] || { log "no PostgreSQL server binaries (set PG_BIN)"; exit 1; }

  # PostgreSQL refuses to run as root, so as root the cluster belongs to the postgres user.
  as_pg=()
  if [[ $(id -u) == 0 ]]; then
    as_pg=(runuser -u postgres --)
  fi

  tmp=$(mktemp -d -t "fovea-$label.XXXXXX")
  pgdata=$tmp/data
  server_pid=""
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  if [[ ${#as_pg[@]} -gt 0 ]]; then
    chown postgres: "$tmp"
  fi

  log "starting PostgreSQL from $PG_BIN in $pgdata"
  "${as_pg[@]}" "$PG_BIN/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --no-sync \
    >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; exit 1; }
  # Unix socket only, inside the data dir. PostgreSQL's default durability and memory settings.
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$pgdata" -l "$tmp/postgres.log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories='$pgdata' -c max_connections=200 ${PG_SETTINGS:-}" \
    start >/dev/null || { cat "$tmp/postgres.log" >&2; exit 1; }

  dsn="host=$pgdata port=5432 dbname=postgres user=postgres"
  db_url="postgresql:///postgres?host=$pgdata&port=5432&user=postgres"
  "$FOVEA_BIN" migrate --database-url "$db_url" >&2

  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port/fhir/R4"
  log "starting fovea on 127.0.0.1:$port"
  # Authorisation off unless the caller asks (bench-auth measures it on): FOVEA_SERVE_ARGS.
  # shellcheck disable=SC2086
  "$FOVEA_BIN" serve --database-url "$db_url" --bind 127.0.0.1 --port "$port" ${FOVEA_SERVE_ARGS:---auth off --rate-limit 0} \
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
}

bench_cleanup() {
  set +e
  if [[ -n "${server_pid:-}" ]]; then
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  if [[ -f "${pgdata:-/nonexistent}/postmaster.pid" ]]; then
    "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$pgdata" -m immediate -w stop >/dev/null 2>&1
  fi
  [[ -n "${tmp:-}" ]] && rm -rf "$tmp"
}

# Builds fovea and the benchmark target `$1` (unless SKIP_BUILD=1) in BUILD_DIR with JOBS, checks
# both binaries and sets FOVEA_BIN and BENCH_BIN (default $BUILD_DIR/bin/...) to absolute paths.
# Needs a log function.
bench_build_binaries() {
  local target=$1
  FOVEA_BIN=${FOVEA_BIN:-$BUILD_DIR/bin/fovea}
  BENCH_BIN=${BENCH_BIN:-$BUILD_DIR/bin/$target}
  if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    cmake -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DFOVEA_BUILD_BENCH=ON >&2
    cmake --build "$BUILD_DIR" -j"$JOBS" --target fovea "$target" >&2
  fi
  local bin
  for bin in "$FOVEA_BIN" "$BENCH_BIN"; do
    [[ -x "$bin" ]] || { log "missing $bin"; exit 1; }
  done
  FOVEA_BIN=$(realpath "$FOVEA_BIN")
  BENCH_BIN=$(realpath "$BENCH_BIN")
}
