#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
# one process: its engine's pool is the service's only source of connections (at most 10);
# 32 threads, so requests beyond 10 wait for a pooled connection instead of opening more
exec python3 -m gunicorn --workers 1 --worker-class gthread --threads 32 \
    --bind "127.0.0.1:$PORT" --limit-request-line 8190 --log-level warning app:app
