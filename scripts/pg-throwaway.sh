#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks.
#   scripts/pg-throwaway.sh start DIR   -> initdb + start; prints the libpq DSN on stdout
#   scripts/pg-throwaway.sh restart DIR -> fast shutdown and start again (same options), for
#                                          tests of a server that must survive it
#   scripts/pg-throwaway.sh stop DIR    -> stop and remove DIR
# Unix socket only (in DIR), no TCP. As root, the cluster runs as the `postgres` user.
set -euo pipefail
cmd=${1:?start|restart|stop}
dir=${2:?directory}

bindir=${FOVEA_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}
[ -x "$bindir/initdb" ] || { echo "pg-throwaway: no PostgreSQL server binaries found" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The same server options on start and restart.
pg_options() {
  echo "-c listen_addresses='' -c unix_socket_directories=$dir -c port=5432 -c fsync=off -c max_connections=300 -c shared_buffers=256MB"
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    chmod 755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U fovea -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgresql.log" -w -t 60 \
      -o "$(pg_options)" start >/dev/null
    echo "host=$dir port=5432 dbname=postgres user=fovea"
    ;;
  restart)
    # Fast: sessions are ended (clients see their connections break), then the server starts
    # again on the same socket; returns once it accepts connections.
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgresql.log" -w -t 60 -m fast \
      -o "$(pg_options)" restart >/dev/null
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|restart|stop DIR" >&2; exit 2 ;;
esac
