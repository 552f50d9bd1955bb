#!/usr/bin/env bash
# The main job on a fresh machine: install, bring the lakehouse up (stack "dev", local
# processes): S3, the metastore, Spark, Trino, and the reconciler and the API as services. `up`
# returns once every table of examples/tables.yaml is in sync; then the status and a query across
# both tables. From here on the reconciler keeps watching tables.yaml: edit it, and the lake follows.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
# shellcheck source=env.sh
source scripts/env.sh
export LAKEFORM_STACK="${LAKEFORM_STACK:-dev}" NODE_NO_WARNINGS=1
bin/lakeform up
bin/lakeform status || true
echo
echo "Leads per region, one Trino query across the Hudi and the Iceberg table:"
bin/lakeform query "SELECT r.region_name, count(*) AS leads, round(sum(l.deal_value)) AS pipeline
  FROM hudi.default.leads l JOIN iceberg.default.regions r ON l.region_code = r.region_code
  GROUP BY 1 ORDER BY 2 DESC"
echo
echo "The reconciler is watching examples/tables.yaml: add a source to a table, then watch"
echo "  bin/lakeform status -w      and      bin/lakeform logs reconciler -f"
