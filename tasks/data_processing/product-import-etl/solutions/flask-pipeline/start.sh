#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
# gthread: a long import runs in a thread, the worker's heartbeat goes on beside it
exec python3 -m gunicorn --worker-class gthread --workers 1 --threads 8 --timeout 120 \
    --bind "127.0.0.1:$PORT" --log-level warning app:app
