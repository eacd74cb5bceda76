#!/usr/bin/env bash
# Hostile: floods stdout (lines) and stderr (one endless line), 32 MiB each, before it serves,
# so a harness that does not drain its output would never see it become ready. 32 MiB is 512
# pipe buffers and far past every cap on what is kept; more only makes its drain take longer
# than the 30 s start window on a loaded machine (128 MiB each took 22-33 s at load 15).
cd "$(dirname "$0")"
timeout --foreground 60 yes "flood flood flood flood flood flood flood flood" | head -c 33554432 &
timeout --foreground 60 head -c 33554432 /dev/zero | tr '\0' 'x' >&2 &
wait
exec python3 stub_server.py --flood
