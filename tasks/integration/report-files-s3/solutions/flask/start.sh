#!/bin/sh
# Flask behind gunicorn's threaded workers; app.py makes the table as it is imported.
set -e
cd "$(dirname "$0")"
exec python3 -m gunicorn app:app --worker-class gthread --workers 2 --threads 8 \
    --bind "127.0.0.1:$PORT" --log-level warning
