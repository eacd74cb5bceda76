#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
# two worker processes share the windows and alerts through Redis; threads serve requests
exec python3 -m gunicorn --workers 2 --worker-class gthread --threads 8 \
    --bind "127.0.0.1:$PORT" --log-level warning quotes:application
