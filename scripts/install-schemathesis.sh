#!/usr/bin/env bash
# Installs schemathesis (PyPI), the OpenAPI fuzzer the API's e2e test runs, into its own venv
# under the cache (~/.cache/lakeform, LAKEFORM_CACHE), once; prints the path of its `st` command.
# Pinned, so a fuzz run today and next month check the same things.
set -euo pipefail
version=4.32.5
cache="${LAKEFORM_CACHE:-$HOME/.cache/lakeform}"
venv="$cache/venv-schemathesis$version"
mkdir -p "$cache/locks"
exec 9>"$cache/locks/schemathesis.lock"
flock 9
# The stamp is written last: a half-finished install (interrupted pip) is redone, not trusted.
if [ ! -f "$venv/.installed" ]; then
  printf '[lakeform setup] schemathesis %s\n' "$version" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "schemathesis==$version" >&2
  touch "$venv/.installed"
fi
echo "$venv/bin/st"
