#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
# the pricing service on a port the OS picks, its worker, then the orders service on $PORT once
# pricing answers; exec keeps the other two children of the foreground process
PRICING_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 pricing.py pricing-service "$PRICING_PORT" &
python3 worker.py fulfilment-worker &
export PRICING_URL="http://127.0.0.1:$PRICING_PORT"
python3 wait_ready.py "$PRICING_URL/health"
exec python3 -m uvicorn orders:app --host 127.0.0.1 --port "$PORT" --log-level warning \
    --no-server-header
