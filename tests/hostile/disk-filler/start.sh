#!/usr/bin/env bash
# Hostile: fills every writable place it can find (stops by itself at 3 GiB in all), then exits.
cd "$(dirname "$0")"
exec timeout --foreground 120 python3 disk_filler.py
