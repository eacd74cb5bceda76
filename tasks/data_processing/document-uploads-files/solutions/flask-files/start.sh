#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
exec python3 -m gunicorn --worker-class gthread --workers 2 --threads 4 --timeout 60 \
    --bind "127.0.0.1:$PORT" --log-level warning app:app
