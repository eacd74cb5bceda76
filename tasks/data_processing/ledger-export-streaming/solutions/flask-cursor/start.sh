#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
python3 -c "import ledger; ledger.migrate()"
exec python3 -m gunicorn --workers 2 --threads 8 --bind "127.0.0.1:$PORT" \
    --log-level warning ledger:app
