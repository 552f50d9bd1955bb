#!/bin/bash
# lakeform-trino [ARGS...]: Trino in the foreground, config from /etc/trino, data in the volume
# /var/lib/trino/data. Unless /etc/trino/node.properties names a node.id, the container's hostname
# is the node id, so a coordinator and workers made from one image are distinct nodes.
set -euo pipefail
data=/var/lib/trino/data
node=/etc/trino/node.properties
if ! grep -qs '^node.id=' "$node"; then
  { cat "$node" 2>/dev/null || echo node.environment=lakeform; echo "node.id=$(cat /etc/hostname)"; } > /var/lib/trino/node.properties
  node=/var/lib/trino/node.properties
fi
# The launcher refuses to start while its pid file names a live process; after a restart the
# old file names PID 1, which is the launcher itself.
rm -f "$data/var/run/launcher.pid"
exec /usr/lib/trino/bin/launcher run --etc-dir=/etc/trino --data-dir="$data" --node-config="$node" "$@"
