#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
# uvicorn's own access log is off: every line about a request is the app's JSON line
exec python3 -m uvicorn app:app --host 127.0.0.1 --port "$PORT" --log-level warning \
    --no-access-log --no-server-header
