#!/bin/sh
# FastAPI on uvicorn; the tables are made in the app's lifespan.
set -e
cd "$(dirname "$0")"
exec python3 -m uvicorn app:app --host 127.0.0.1 --port "$PORT" --log-level warning
