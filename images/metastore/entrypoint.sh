#!/bin/bash
# lakeform-metastore: the Hive Metastore's Thrift service on port 9083 of the container's network,
# through MetastoreServer (table entries read and written whole).
# Config: /opt/lakeform/conf/hive-site.xml (a Derby default is baked in; upload your own to
# replace it) and core-site.xml (the S3A endpoint and keys; uploaded). Heap: METASTORE_HEAP (512m);
# more JVM options: METASTORE_JAVA_OPTS.
set -euo pipefail
conf=/opt/lakeform/conf
cp="$conf:/opt/lakeform/hive/jars/*:/opt/lakeform/jars/*:/opt/lakeform/lib"
jvm=(-Dderby.system.home=/var/lib/metastore -Dhive.log.dir=/opt/lakeform/logs -Dhive.log.file=hive.log)
# The transaction tables Iceberg's HiveCatalog and Trino lock through (idempotent; Derby allows
# one JVM at a time, so this runs before the metastore, not beside it).
# A short-lived JVM: the quick JIT tier and a serial GC start it in less CPU.
java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "${jvm[@]}" -cp "$cp" TxnSchema
# METASTORE_JAVA_OPTS: extra JVM options, split on spaces.
# shellcheck disable=SC2086
exec java "-Xmx${METASTORE_HEAP:-512m}" ${METASTORE_JAVA_OPTS:-} "${jvm[@]}" -cp "$cp" MetastoreServer 9083 0.0.0.0
