#!/usr/bin/env bash
# Makes sure a Docker Engine answers and that the Debian base images Lakeform's Dockerfiles build
# FROM exist, so the docker runtime can build its images without pulling anything.
#
# - If `docker info` answers (a running engine, or DOCKER_HOST pointing at one), it is used as is.
# - Otherwise, on this machine as root: installs Debian's `docker.io` when `dockerd` is missing,
#   starts `dockerd` in the background (log: $LAKEFORM_CACHE/docker/dockerd.log) and waits for it.
# - Base images: debian:bookworm-slim and debian:trixie-slim, tagged as users' registries name
#   them. Made once with mmdebstrap from Debian's packages, saved under $LAKEFORM_CACHE/docker/,
#   and `docker load`ed from there on a fresh engine. Tags already present are kept.
#
# Usage: scripts/docker-engine.sh [--no-base]     (a second run takes a second or two)
# Env:   LAKEFORM_CACHE (default ~/.cache/lakeform), LAKEFORM_DOCKERD_WAIT (seconds, default 90)
set -euo pipefail
say() { printf '[lakeform docker] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

cache="${LAKEFORM_CACHE:-$HOME/.cache/lakeform}"
dir="$cache/docker"
mkdir -p "$dir"
wait_s="${LAKEFORM_DOCKERD_WAIT:-90}"
base=1
for arg in "$@"; do
  case "$arg" in
    --no-base) base=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) die "unknown argument $arg (try --help)" ;;
  esac
done

engine_answers() { command -v docker >/dev/null && timeout 15 docker info >/dev/null 2>&1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root for: $* (run as root or install sudo)"; fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    say "apt-get update"
    as_root apt-get update -qq || die "apt-get update failed"
    apt_updated=1
  fi
  say "installing $* from Debian's packages"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

start_engine() {
  if [ -n "${DOCKER_HOST:-}" ]; then
    die "DOCKER_HOST=$DOCKER_HOST does not answer \`docker info\`; start that engine, or unset DOCKER_HOST to use a local one"
  fi
  command -v dockerd >/dev/null || apt_install docker.io
  command -v docker >/dev/null || die "docker.io installed but no docker client on PATH"
  local log="$dir/dockerd.log"
  if [ -S /var/run/docker.sock ] && pgrep -x dockerd >/dev/null; then
    say "dockerd is running but not answering yet; waiting"
  else
    say "starting dockerd (log: $log)"
    # Its own session, so it outlives this script and the shell that ran it.
    # fd 9 (the lock below) is closed for it, or the lock would live as long as the engine.
    as_root setsid dockerd >>"$log" 2>&1 < /dev/null 9>&- &
    echo $! > "$dir/dockerd.pid"
  fi
  local i
  for ((i = 0; i < wait_s; i++)); do
    if engine_answers; then say "engine up after ${i}s"; return 0; fi
    if [ -f "$dir/dockerd.pid" ] && ! kill -0 "$(cat "$dir/dockerd.pid")" 2>/dev/null && ! pgrep -x dockerd >/dev/null; then
      tail -n 20 "$log" >&2 || true
      die "dockerd exited (log above, full log: $log)"
    fi
    sleep 1
  done
  tail -n 20 "$log" >&2 || true
  die "dockerd did not answer \`docker info\` within ${wait_s}s (log: $log)"
}

# One base image: the tag if present, else the saved image, else made with mmdebstrap and saved.
ensure_base() {
  local suite="$1" tag="debian:$1-slim"
  local saved="$dir/debian-$1-slim.image.tar"
  if docker image inspect "$tag" >/dev/null 2>&1; then
    say "$tag present"
    return 0
  fi
  if [ -s "$saved" ]; then
    say "loading $tag from $saved"
    docker load -q -i "$saved" >/dev/null || die "docker load $saved failed (delete it to rebuild)"
    docker image inspect "$tag" >/dev/null 2>&1 || die "$saved holds no $tag (delete it to rebuild)"
    return 0
  fi
  command -v mmdebstrap >/dev/null || apt_install mmdebstrap
  say "making $tag from Debian's $suite packages with mmdebstrap (about a minute)"
  local started=$SECONDS tmp="$dir/debian-$suite-slim.rootfs.tar.partial"
  # minbase: Essential packages + apt, as Debian's own -slim images. Written to a file first so a
  # failed mmdebstrap never leaves a half image behind a good tag.
  # Like Debian's own -slim images, dpkg leaves out docs, man pages and translations, now and
  # for every package installed on top (mmdebstrap keeps these options in the image).
  as_root mmdebstrap --quiet --variant=minbase --format=tar \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    "$suite" "$tmp" \
    || { rm -f "$tmp"; die "mmdebstrap $suite failed"; }
  docker import --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$tmp" "$tag" >/dev/null || { rm -f "$tmp"; die "docker import of $tag failed"; }
  rm -f "$tmp"
  docker save -o "$saved.partial" "$tag" && mv "$saved.partial" "$saved"
  say "$tag made in $((SECONDS - started))s, saved to $saved"
}

# One engine start at a time, whoever calls (several worktrees share this machine).
exec 9>"$dir/engine.lock"
flock -w 600 9 || die "another docker-engine.sh held $dir/engine.lock for 10 minutes"

if engine_answers; then
  :
else
  start_engine
fi
if [ "$base" = 1 ]; then
  ensure_base bookworm
  ensure_base trixie
fi
say "ready: $(docker version --format 'engine {{.Server.Version}}, API {{.Server.APIVersion}}' 2>/dev/null)"
