#!/usr/bin/env bash
# Installs every Debian package Fovea's build, server and tests need. Idempotent; runs as root or
# through sudo. A fresh Debian 12 machine needs nothing else.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libpoco-dev libpq-dev libxerces-c-dev libssl-dev libboost-test-dev
  postgresql postgresql-contrib
  curl python3 ca-certificates
  # The staff console's browser tests (tests/e2e/console): Debian's Chromium, driven headless by
  # playwright-core from tests/e2e/package-lock.json; a font so pages render text.
  chromium fonts-dejavu-core
)
# Node.js and npm for the end-to-end suite (tests/e2e): Debian's packages when either command is
# missing; a node installed otherwise (NodeSource's bundles npm) is used as it is.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Debian's postgresql package would start a system cluster on 5432; Fovea never uses it.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
