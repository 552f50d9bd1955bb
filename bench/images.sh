#!/usr/bin/env bash
# Build times and sizes of Lakeform's images: each image cold (every step again, `--no-cache`;
# the Debian base images stay) and then warm (every step a cache hit: staging + context upload).
#   bash bench/images.sh [name...]     (default: all five; needs scripts/docker-engine.sh first)
# Prints one line per build: tag, seconds, size. Cold builds take minutes on 2 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=../scripts/env.sh
source scripts/env.sh
bash scripts/docker-engine.sh
echo "# cold"
LAKEFORM_BUILD_NO_CACHE=1 tsx images/build.ts "$@"
echo "# warm"
tsx images/build.ts "$@"
