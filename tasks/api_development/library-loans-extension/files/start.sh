#!/usr/bin/env bash
# Serve the library API on 127.0.0.1:$PORT; the schema is created at start-up.
set -euo pipefail
cd "$(dirname "$0")"
exec python3 -m uvicorn app.main:app --host 127.0.0.1 --port "${PORT:-8000}" --log-level warning
