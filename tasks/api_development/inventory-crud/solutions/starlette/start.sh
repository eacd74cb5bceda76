#!/bin/sh
# Create the schema once, then serve the API with two uvicorn worker processes.
set -eu
cd "$(dirname "$0")"
python3 migrate.py
exec python3 -m uvicorn app:app --host 127.0.0.1 --port "$PORT" --workers 2 \
    --no-access-log --log-level warning
