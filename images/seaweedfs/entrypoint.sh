#!/bin/bash
# lakeform-seaweedfs [ARGS...]: one SeaweedFS server with its S3 gateway on 8333; extra ARGS are
# passed to `weed server`. Without /etc/seaweedfs/s3.json, S3 allows anonymous access.
# /etc/seaweedfs/security.toml (uploaded) holds the JWT keys the volume server asks of every read
# and write. The master's and the filer's HTTP APIs are off (-disableHttp): the master's would hand
# a JWT to anyone; the S3 gateway reaches both over gRPC.
set -euo pipefail
cfg=()
[ -f /etc/seaweedfs/s3.json ] && cfg=(-s3.config=/etc/seaweedfs/s3.json)
exec weed -config_dir=/etc/seaweedfs server -dir=/data -ip.bind=0.0.0.0 -ip="$(cat /etc/hostname)" \
  -master.telemetry=false -master.volumeSizeLimitMB=1024 -volume.max=100 \
  -filer -s3 -s3.port=8333 -s3.port.iceberg=0 -s3.port.lance=0 -disableHttp "${cfg[@]}" "$@"
