#!/usr/bin/env bash
# Configures and builds Fovea (Release) into ./build. Uses Ninja and ccache when present.
set -euo pipefail
cd "$(dirname "$0")/.."
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
if [ ! -f build/CMakeCache.txt ]; then
  cmake -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release
fi
cmake --build build -j"${FOVEA_BUILD_JOBS:-2}"
