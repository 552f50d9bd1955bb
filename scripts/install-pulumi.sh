#!/usr/bin/env bash
# With a standard Pulumi install (LAKEFORM_PULUMI=standard, see scripts/env.sh): installs the real
# provider plugins with `pulumi plugin install`, and builds a stand-in only for one that can't be.
# Offline: builds the pinned Pulumi CLI from the Go module proxy, and Lakeform's own nodejs language
# host (tools/pulumi-language-nodejs) from this repository, into the Lakeform cache, unless
# they are already there. No vendor download is reachable
# from our machines, so this is the only way to get a CLI: a tiny wrapper module that
# requires pkg/v3 + sdk/v3 at one version and repeats pkg's non-relative replace.
set -euo pipefail
PULUMI_VERSION="${PULUMI_VERSION:-v3.259.0}"
CACHE="${LAKEFORM_CACHE:-$HOME/.cache/lakeform}"
BIN="$CACHE/pulumi/$PULUMI_VERSION/bin"
mkdir -p "$BIN"
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export GOPATH="${GOPATH:-$CACHE/go}"

LAKEFORM_ROOT="${LAKEFORM_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"

log() { printf '[install-pulumi] %s\n' "$*" >&2; }

build_cli() {
  [ -x "$BIN/pulumi" ] && return 0
  log "building pulumi $PULUMI_VERSION (first run only, several minutes)"
  local w="$CACHE/pulumi/$PULUMI_VERSION/wrap-cli"
  rm -rf "$w" && mkdir -p "$w" && cd "$w"
  cat > go.mod <<MOD
module lakeform.local/pulumicli
go 1.24
require (
	github.com/pulumi/pulumi/pkg/v3 $PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 $PULUMI_VERSION
)
replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
  cat > tools.go <<'GO'
//go:build tools
package tools
import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
GO
  go mod tidy
  go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    -o "$BIN/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  mv "$BIN/pulumi.tmp" "$BIN/pulumi"
}

# Dynamic providers (Lakeform's local runtime is made of them) run in a plugin process that
# the engine finds on PATH by this name; the CLI's release archive ships it, a Go build doesn't.
# The engine starts it in the project directory, where @pulumi/pulumi is installed.
write_dynamic_provider_shim() {
  local shim="$BIN/pulumi-resource-pulumi-nodejs"
  [ -x "$shim" ] && return 0
  printf '#!/bin/sh\nexec node ./node_modules/@pulumi/pulumi/cmd/dynamic-provider "$@"\n' > "$shim.tmp"
  chmod +x "$shim.tmp" && mv "$shim.tmp" "$shim"
}

# A plain `pulumi up` needs a nodejs language host. Pulumi's own is a Go module the proxy
# refuses (403 at every version tried), so Lakeform ships a small one that speaks the same
# gRPC protocol (see tools/pulumi-language-nodejs/main.go). It is rebuilt when its source changes.
build_language_host() {
  local src="$LAKEFORM_ROOT/tools/pulumi-language-nodejs"
  local stamp
  stamp="$(cat "$src/main.go" "$src/go.mod" "$src/go.sum" | sha256sum | cut -c1-16)"
  if [ -x "$BIN/pulumi-language-nodejs" ] && [ "$(cat "$BIN/.language-host-stamp" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  log "building Lakeform's nodejs language host"
  (cd "$src" && go build -trimpath -ldflags "-s -w -X main.version=$PULUMI_VERSION" \
    -o "$BIN/pulumi-language-nodejs.tmp" .)
  mv "$BIN/pulumi-language-nodejs.tmp" "$BIN/pulumi-language-nodejs"
  echo "$stamp" > "$BIN/.language-host-stamp"
}

# The @pulumi/docker and @pulumi/minio provider plugins are downloaded from release pages our
# machines can't reach, and the Go module proxy refuses the pulumi-docker provider module: when
# the real plugin is absent, Lakeform builds its own stand-in (tools/pulumi-resource-<name>/,
# SUPPORTED.md lists what it implements), stamped with the SDK's version from node_modules so the
# engine, which asks for that version, finds it on PATH. Rebuilt when its source changes.
build_provider_plugin() {
  local name="$1" src="$LAKEFORM_ROOT/tools/pulumi-resource-$1"
  local pkg="$LAKEFORM_ROOT/node_modules/@pulumi/$name/package.json"
  local want
  want="$(node -p "require('$pkg').version" 2>/dev/null || sed -n 's/.*"@pulumi\/'"$name"'": "[^0-9]*\([0-9.]*\)".*/\1/p' "$LAKEFORM_ROOT/package.json")"
  [ -n "$want" ] || { log "no @pulumi/$name version found: skipping its plugin"; return 0; }
  local home="${PULUMI_HOME:-$CACHE/pulumi-home}"
  [ "${LAKEFORM_PULUMI:-offline}" = standard ] && home="${PULUMI_HOME:-$HOME/.pulumi}"
  local real="$home/plugins/resource-$name-v$want/pulumi-resource-$name"
  if [ "${LAKEFORM_PULUMI:-offline}" = standard ] && [ ! -x "$real" ]; then
    # A standard install downloads the real plugin, as `pulumi up` would on its own.
    pulumi plugin install resource "$name" "$want" >&2 || log "the real $name plugin couldn't be installed: building the stand-in"
  fi
  if [ -x "$real" ]; then
    rm -f "$BIN/pulumi-resource-$name"   # the real plugin is installed: never shadow it
    return 0
  fi
  local stamp
  # The plugins' shared code (tools/pulumi-provider-kit, a replace in go.mod) is part of each one.
  stamp="$( (cat "$src"/*.go "$src/go.mod" "$src/go.sum" "$LAKEFORM_ROOT"/tools/pulumi-provider-kit/*.go "$LAKEFORM_ROOT"/tools/pulumi-provider-kit/go.mod; echo "$want") | sha256sum | cut -c1-16)"
  if [ -x "$BIN/pulumi-resource-$name" ] && [ "$(cat "$BIN/.resource-$name-stamp" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  log "building Lakeform's stand-in pulumi-resource-$name for @pulumi/$name $want"
  (cd "$src" && go build -trimpath -ldflags "-s -w -X main.version=$want" -o "$BIN/pulumi-resource-$name.tmp" .)
  mv "$BIN/pulumi-resource-$name.tmp" "$BIN/pulumi-resource-$name"
  echo "$stamp" > "$BIN/.resource-$name-stamp"
}

if [ "${LAKEFORM_PULUMI:-offline}" = standard ]; then
  # Pulumi's own CLI and language host (scripts/env.sh found them on PATH): nothing to build.
  log "using the installed $(command -v pulumi) ($(pulumi version))"
else
  build_cli
  build_language_host
  write_dynamic_provider_shim
fi
for plugin in docker minio; do
  [ -f "$LAKEFORM_ROOT/tools/pulumi-resource-$plugin/go.mod" ] && build_provider_plugin "$plugin"
done
echo "$BIN"
