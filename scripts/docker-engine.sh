#!/usr/bin/env bash
# Start a Docker engine the way one runs on this kind of machine (a VM without systemd, no bridge
# or iptables to spare): Debian's docker.io, as root, no bridge, on a socket of its own so that
# nothing else on the machine (`docker info` without DOCKER_HOST) mistakes it for the engine
# inspect's docker sandbox needs. Storage: overlay2 where the kernel mounts overlayfs here, else
# vfs (which copies the whole image for every build step: a cold build takes far longer).
# Installs docker.io and debootstrap with apt-get when root. Prints the DOCKER_HOST to use; safe
# to run again (an engine that answers is kept).
#   eval "$(bash scripts/docker-engine.sh)"   # exports DOCKER_HOST
set -euo pipefail

SOCKET=${BACKBENCH_DOCKER_SOCKET:-/run/backbench-docker/docker.sock}
ROOT=${BACKBENCH_DOCKER_ROOT:-/var/lib/backbench-docker}
LOG=${BACKBENCH_DOCKER_LOG:-/var/log/backbench-dockerd.log}
WAIT_SECONDS=60
export DOCKER_HOST="unix://$SOCKET"

answers() { timeout 10 docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && answers; then
  echo "export DOCKER_HOST=$DOCKER_HOST"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "docker-engine: needs root (dockerd, apt-get)" >&2
  exit 1
fi

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || { echo "docker-engine: no apt-get for ${missing[*]}" >&2; exit 1; }
  echo "docker-engine: installing ${missing[*]}" >&2
  timeout 300 apt-get update -qq >/dev/null
  # policy-rc.d refusal: no init system here to start the packaged service, we start our own
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 timeout 600 \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

overlay_mounts() {
  local probe
  probe=$(mktemp -d)
  mkdir "$probe"/{lower,upper,work,merged}
  if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" \
    "$probe/merged" 2>/dev/null; then
    umount "$probe/merged"
    rm -rf "$probe"
    return 0
  fi
  rm -rf "$probe"
  return 1
}
driver=${BACKBENCH_DOCKER_STORAGE:-}
if [ -z "$driver" ]; then
  if overlay_mounts; then driver=overlay2; else driver=vfs; fi
fi

mkdir -p "$(dirname "$SOCKET")" "$ROOT/$driver"
# no bridge and no iptables: containers get only a loopback (run them with --network none) or
# the host's network (builds, to reach the package registries)
nohup setsid dockerd --host "unix://$SOCKET" --data-root "$ROOT/$driver" \
  --exec-root "$(dirname "$SOCKET")/exec" --pidfile "$(dirname "$SOCKET")/dockerd.pid" \
  --storage-driver="$driver" --iptables=false --ip6tables=false --bridge=none \
  >"$LOG" 2>&1 </dev/null &

for _ in $(seq "$WAIT_SECONDS"); do
  if answers; then
    echo "export DOCKER_HOST=$DOCKER_HOST"
    exit 0
  fi
  sleep 1
done
echo "docker-engine: dockerd did not answer within ${WAIT_SECONDS}s; last lines of $LOG:" >&2
tail -n 20 "$LOG" >&2
exit 1
