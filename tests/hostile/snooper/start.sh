#!/usr/bin/env bash
# Hostile: searches the whole filesystem and /proc for the hidden tests, the reference
# solutions and the harness, writes what it found to found.txt (served at GET /found), prints a
# summary, then serves a fake API.
cd "$(dirname "$0")"
timeout --foreground 25 python3 snooper.py
exec python3 snooper.py --serve
