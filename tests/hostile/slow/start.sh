#!/usr/bin/env bash
# Hostile: answers every request, /health included, only after 3 s.
cd "$(dirname "$0")"
exec python3 stub_server.py --delay 3
