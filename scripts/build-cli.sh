#!/usr/bin/env bash
# Compiles the command line (cli/, lake/, api/, reconciler/) to dist/ with tsc. With --if-stale it
# does so only when a source or the build config is newer than the last build: a few
# milliseconds when nothing changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stamp="$root/dist/.built"
if [ "${1:-}" = "--if-stale" ] && [ -f "$stamp" ] && [ -f "$root/dist/cli/main.js" ]; then
  newer="$(find "$root/cli" "$root/lake" "$root/api" "$root/reconciler" "$root/tsconfig.json" "$root/tsconfig.build.json" "$root/package-lock.json" \
    -newer "$stamp" \( -name '*.ts' -o -name '*.json' \) -print -quit 2>/dev/null)"
  [ -z "$newer" ] && exit 0
fi
# Concurrent callers (services starting together) build once.
exec 9>"$root/.lakeform/build.lock" 2>/dev/null || { mkdir -p "$root/.lakeform"; exec 9>"$root/.lakeform/build.lock"; }
flock 9
if [ "${1:-}" = "--if-stale" ] && [ -f "$stamp" ] && [ -f "$root/dist/cli/main.js" ] && [ -z "$(find "$root/cli" "$root/lake" "$root/api" "$root/reconciler" -newer "$stamp" -name '*.ts' -print -quit)" ]; then
  exit 0
fi
printf '[lakeform] compiling the command line to dist/\n' >&2
mkdir -p "$root/dist"
t="$(date +%s.%N)"
# Its errors go to stderr: the stdout of the command being run (status -o json, say) is data.
"$root/node_modules/.bin/tsc" -p "$root/tsconfig.build.json" >&2
# The stamp takes the time the build started: a source saved during the build triggers the next one.
touch -d "@$t" "$stamp"
