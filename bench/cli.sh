#!/usr/bin/env bash
# How fast the command line answers: `lakeform --help`, `status` and `query "SELECT 1"`, each
# timed as a whole process (start-up included) with farm-bench, medians of N runs. Needs a
# running lakehouse for status and query (LAKEFORM_STACK, default dev).
#   bash bench/cli.sh [runs]
# Targets (issue 11): status ≤ 0.3 s, query "SELECT 1" ≤ 0.8 s.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
runs="${1:-7}"
# shellcheck source=../scripts/env.sh
source scripts/env.sh
command -v farm-bench >/dev/null || { echo "bench/cli.sh needs farm-bench on PATH" >&2; exit 1; }
bash scripts/build-cli.sh --if-stale
bin/lakeform status >/dev/null 2>&1 || true   # warms the outputs cache
median() { farm-bench -n "$runs" --warmup 2 --timeout 300 -- "$@" 2>&1 | awk '/wall s/ {print $4}'; }
printf '%-28s %s\n' "command" "wall s (median of $runs)"
printf '%-28s %s\n' "lakeform --help" "$(median bin/lakeform --help)"
printf '%-28s %s\n' "lakeform status" "$(median bin/lakeform status)"
printf '%-28s %s\n' 'lakeform query "SELECT 1"' "$(median bin/lakeform query "SELECT 1")"
