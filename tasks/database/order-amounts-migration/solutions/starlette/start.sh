#!/bin/sh
# Migrate to the newest revision, then serve in the foreground.
set -e
cd "$(dirname "$0")"
python3 -m alembic upgrade head
exec python3 -m uvicorn app:app --host 127.0.0.1 --port "$PORT" --no-access-log --log-level warning
