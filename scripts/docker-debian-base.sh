#!/usr/bin/env bash
# Make a Debian 12 base image with Python 3.11 from Debian's own packages, for machines where no
# image registry is reachable (the workspace image's default base, python:3.11.7-slim-bookworm,
# is pulled from Docker Hub): debootstrap a minimal bookworm and `docker import` it.
#   bash scripts/docker-debian-base.sh [TAG]     # default backbench-debian-base:bookworm
# Needs root, debootstrap and an engine (scripts/docker-engine.sh). Keeps an existing TAG.
# The machine's extra CA certificates go into the image's trust store, and pip is pointed at
# it, so that a TLS-intercepting egress proxy of the machine is trusted inside builds too.
set -euo pipefail

TAG=${1:-backbench-debian-base:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "$TAG"
  exit 0
fi
rootfs=$(mktemp -d /var/tmp/backbench-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

timeout 900 debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  bookworm "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1 || { tail -n 20 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
fi
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb

tar -C "$rootfs" -c . | timeout 600 docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["bash"]' \
  - "$TAG" >/dev/null
echo "$TAG"
