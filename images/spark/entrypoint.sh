#!/bin/bash
# lakeform-spark ROLE [ARGS...]
#   job-server [ARGS]   Lakeform's job server on 0.0.0.0:${LAKEFORM_JOB_SERVER_PORT:-8998}; reads
#                       $SPARK_CONF_DIR/spark-defaults.conf if present (spark.master, S3A, metastore)
#   master [ARGS]       a standalone master on this container's address, port 7077, UI 8080
#   worker MASTER_URL [--memory 2g ...]   a standalone worker, UI 8081
#   anything else       run as a command (spark-submit, spark-sql, bash, ...)
set -euo pipefail
# This container's address on its network: what others reach it by, and what Spark advertises.
host="$(cat /etc/hostname)"
read -r addr _ < <(getent hosts "$host") || { echo "lakeform-spark: cannot resolve $host" >&2; exit 1; }
role="${1:-job-server}"
[ $# -gt 0 ] && shift
case "$role" in
  job-server)
    props=()
    [ -f "$SPARK_CONF_DIR/spark-defaults.conf" ] && props=(--properties-file "$SPARK_CONF_DIR/spark-defaults.conf")
    server=/opt/lakeform/jobs/job_server.py
    [ -f "$server" ] || server=/opt/lakeform/jobs/lakeform_jobs/server.py
    exec spark-submit "${props[@]}" --name lakeform-job-server \
      --conf "spark.driver.host=$addr" --conf spark.driver.bindAddress=0.0.0.0 \
      "$server" --serve --host 0.0.0.0 --port "${LAKEFORM_JOB_SERVER_PORT:-8998}" "$@" ;;
  master)
    exec spark-class org.apache.spark.deploy.master.Master --host "$addr" --port 7077 --webui-port 8080 "$@" ;;
  worker)
    exec spark-class org.apache.spark.deploy.worker.Worker --host "$addr" --webui-port 8081 "$@" ;;
  *)
    exec "$role" "$@" ;;
esac
