#!/usr/bin/env bash
# Installs what is missing, builds, and runs Fovea on its embedded default: a private PostgreSQL
# under ./var/pg, the staff console at http://127.0.0.1:8080/console/ and the FHIR API at
# http://127.0.0.1:8080/fhir/R4. Extra arguments go to `fovea serve` (see `build/bin/fovea
# --help`). On its first start the embedded default loads demo data (a unit, patients, and the
# staff accounts with published passwords listed in README.md); --no-demo-data skips it.
#
# The first run also creates a demo administrator and a first-party command-line client, so
# the README walkthrough can get a token; the password is random and kept in
# var/demo-credentials (mode 0600). Real units create their own staff with `fovea user add`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh

credentials=var/demo-credentials
if [[ ! -f "$credentials" ]]; then
  mkdir -p var
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  build/bin/fovea user add --username demo.admin --role admin --name "Demo Administrator" \
    --password-stdin <<<"$password"
  build/bin/fovea client add --client-id fovea-cli --public --first-party \
    --redirect-uri http://127.0.0.1:8080/callback --name "Fovea command line"
  (umask 077 && printf 'username=demo.admin\npassword=%s\nclient_id=fovea-cli\n' "$password" \
    >"$credentials")
  echo "run: demo administrator created; credentials in $credentials"
fi
exec build/bin/fovea serve "$@"
