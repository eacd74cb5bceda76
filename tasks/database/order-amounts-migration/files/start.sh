#!/usr/bin/env bash
# Bring the schema up to the newest revision, then serve in the foreground.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m alembic upgrade head
exec python3 -m uvicorn orders_api.app:app --host 127.0.0.1 --port "$PORT" --log-level warning
