#!/bin/sh
# Create the tables once, then serve with two uvicorn workers in the foreground.
set -e
cd "$(dirname "$0")"
python3 schema.py
exec python3 -m uvicorn app:app --host 127.0.0.1 --port "$PORT" --workers 2 \
    --no-access-log --log-level warning
