#!/usr/bin/env bash
# Hostile: allocates memory until the sandbox stops it (it stops by itself at 6 GiB).
cd "$(dirname "$0")"
exec timeout --foreground 90 python3 memory_hog.py
