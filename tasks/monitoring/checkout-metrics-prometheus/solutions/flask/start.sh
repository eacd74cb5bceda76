#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
# one worker process: the metrics live in its memory; threads serve requests side by side
exec python3 -m gunicorn --workers 1 --worker-class gthread --threads 16 \
    --bind "127.0.0.1:$PORT" --log-level warning checkout:application
