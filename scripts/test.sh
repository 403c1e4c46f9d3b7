#!/usr/bin/env bash
# Installs what is missing, builds, starts a throwaway PostgreSQL, runs every test (unit, pg,
# http, and the node end-to-end suite), and removes the cluster. Exit code: ctest's.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
bash scripts/install-deps.sh
bash scripts/build.sh
# The node end-to-end suite's packages, exactly as tests/e2e/package-lock.json pins them
# (installed again only when the lock file changed).
e2e=tests/e2e
if ! cmp -s "$e2e/package-lock.json" "$e2e/node_modules/.fovea-installed-lock"; then
  (cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$e2e/package-lock.json" "$e2e/node_modules/.fovea-installed-lock"
fi

# The cluster lives under /tmp so the unprivileged postgres user can always reach it.
pgdir=$(mktemp -d /tmp/fovea-test-pg.XXXXXX)
cleanup() { bash "$repo/scripts/pg-throwaway.sh" stop "$pgdir"; }
trap cleanup EXIT
export FOVEA_TEST_PG_DSN=$(bash scripts/pg-throwaway.sh start "$pgdir")
echo "test.sh: throwaway PostgreSQL at $pgdir"

cd build
ctest --output-on-failure -j"${FOVEA_TEST_JOBS:-2}" "$@"
