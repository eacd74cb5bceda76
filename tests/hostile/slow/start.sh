#!/usr/bin/env bash
# Hostile: accepts every connection and answers, /health included, only after 10 minutes.
cd "$(dirname "$0")"
exec python3 stub_server.py --delay 600
