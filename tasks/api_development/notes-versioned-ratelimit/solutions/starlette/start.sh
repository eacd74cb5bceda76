#!/bin/sh
# Create the schema once, then serve with two uvicorn worker processes.
set -eu
cd "$(dirname "$0")"
: "${DATABASE_URL:?DATABASE_URL is required}"
: "${REDIS_URL:?REDIS_URL is required}"
: "${APP_SECRET:?APP_SECRET is required}"
python3 -B schema.py
exec python3 -B -m uvicorn app:app --host 127.0.0.1 --port "${PORT:-8000}" --workers 2 \
    --no-access-log --log-level warning
