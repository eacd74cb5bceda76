#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
python3 -c 'import store; store.create_schema()'
exec python3 -m gunicorn --workers 2 --threads 16 --worker-class gthread \
    --bind "127.0.0.1:$PORT" --log-level warning app:app
