#!/usr/bin/env bash
# Hostile: floods stdout (lines) and stderr (one endless line), 128 MiB each, before it serves,
# so a harness that does not drain its output would never see it become ready.
cd "$(dirname "$0")"
timeout --foreground 60 yes "flood flood flood flood flood flood flood flood" | head -c 134217728 &
timeout --foreground 60 head -c 134217728 /dev/zero | tr '\0' 'x' >&2 &
wait
exec python3 stub_server.py --flood
