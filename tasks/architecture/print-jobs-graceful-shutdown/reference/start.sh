#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
# exec: the SIGTERM sent to start.sh's process reaches the server itself
exec python3 serve.py
