#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
# gunicorn.conf.py routes gunicorn's own log through structlog's JSON renderer too
exec python3 -m gunicorn --config gunicorn.conf.py --bind "127.0.0.1:$PORT" app:app
