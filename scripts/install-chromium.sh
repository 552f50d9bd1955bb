#!/usr/bin/env bash
# Debian's chromium (/usr/bin/chromium), which the status page's browser test drives headless
# (tests/e2e/20-status-page.test.ts, through playwright-core). Idempotent: installed already, it
# returns at once. apt-get as root (or through sudo when not root); prints the binary's path.
set -euo pipefail
bin=/usr/bin/chromium
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "[lakeform setup] chromium: not installed, and installing it needs root (apt-get install chromium)" >&2; exit 1; }
  sudo="sudo -n"
fi
echo "[lakeform setup] chromium (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q --no-install-recommends chromium >&2 || { $sudo apt-get update -q >&2 && $sudo apt-get install -y -q --no-install-recommends chromium >&2; }
[ -x "$bin" ] || { echo "[lakeform setup] chromium: apt-get finished but $bin is missing" >&2; exit 1; }
echo "$bin"
