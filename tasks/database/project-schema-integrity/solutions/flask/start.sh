#!/bin/sh
# Create the schema (SQLAlchemy Core metadata), then serve Flask with gunicorn's threaded workers.
set -e
cd "$(dirname "$0")"
python3 schema.py
exec python3 -m gunicorn app:app --worker-class gthread --workers 2 --threads 8 --limit-request-line 0 \
    --bind "127.0.0.1:$PORT" --log-level warning
