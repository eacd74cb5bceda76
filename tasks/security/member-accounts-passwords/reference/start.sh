#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
# --no-proxy-headers: the client is the TCP peer, never what X-Forwarded-For claims
exec python3 -m uvicorn app:app --host 127.0.0.1 --port "$PORT" --log-level warning \
    --no-proxy-headers --no-server-header
