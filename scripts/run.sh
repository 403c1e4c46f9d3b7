#!/usr/bin/env bash
# Installs what is missing, builds, and runs Fovea on its embedded default: a private PostgreSQL
# under ./var/pg and the FHIR API at http://127.0.0.1:8080/fhir/R4. Extra arguments go to
# `fovea serve` (see `build/bin/fovea --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
exec build/bin/fovea serve "$@"
