#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
# --preload: the schema is made once, before the workers fork; gunicorn's access log stays off
# (no --access-logfile): the app writes its own JSON access line
exec python3 -m gunicorn --preload --workers 2 --threads 8 --bind "127.0.0.1:$PORT" \
    --log-level warning app:app
