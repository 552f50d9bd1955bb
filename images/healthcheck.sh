#!/bin/bash
# lakeform-healthcheck: the container's health check, with nothing but bash (no curl in the image).
#   lakeform-healthcheck tcp PORT                 a TCP connect to this container's own address
#   lakeform-healthcheck http PORT PATH [TEXT]    HTTP 200 from PATH, and TEXT in the body if given
# It probes the address the container's hostname resolves to, where a server bound to its
# container address listens as well as one bound to 0.0.0.0 (a probe of localhost would miss the
# first). Exit 0 healthy, 1 not.
set -u
host="$(cat /etc/hostname 2>/dev/null || echo localhost)"
read -r addr _ < <(getent hosts "$host" 2>/dev/null) || addr=127.0.0.1
kind="${1:-}" port="${2:-}"
case "$kind" in
  tcp)
    exec 3<>"/dev/tcp/$addr/$port" || exit 1
    exit 0 ;;
  http)
    path="${3:-/}" want="${4:-}"
    exec 3<>"/dev/tcp/$addr/$port" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$host" >&3
    body="$(timeout 10 cat <&3)" || exit 1
    case "${body%%$'\r'*}" in *" 200 "*|*" 200") ;; *) exit 1 ;; esac
    [ -z "$want" ] || [[ "$body" == *"$want"* ]] || exit 1
    exit 0 ;;
  *) echo "usage: lakeform-healthcheck tcp PORT | http PORT PATH [TEXT]" >&2; exit 2 ;;
esac
