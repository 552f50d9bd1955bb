#!/bin/bash
# lakeform-metastore [ARGS...]: the Hive Metastore's Thrift service on port 9083.
# Config: /opt/lakeform/conf/hive-site.xml (a Derby default is baked in; upload your own to
# replace it) and core-site.xml (the S3A endpoint and keys; uploaded). Heap: METASTORE_HEAP (512m).
set -euo pipefail
conf=/opt/lakeform/conf
cp="$conf:/opt/lakeform/hive/jars/*:/opt/lakeform/jars/*:/opt/lakeform/lib"
jvm=(-Dderby.system.home=/var/lib/metastore -Dhive.log.dir=/opt/lakeform/logs -Dhive.log.file=hive.log)
# The transaction tables Iceberg's HiveCatalog and Trino lock through (idempotent; Derby allows
# one JVM at a time, so this runs before the metastore, not beside it).
java -Xmx256m "${jvm[@]}" -cp "$cp" TxnSchema
exec java "-Xmx${METASTORE_HEAP:-512m}" "${jvm[@]}" -cp "$cp" org.apache.hadoop.hive.metastore.HiveMetaStore -p 9083 "$@"
