#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
PRICING_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PRICING_URL="http://127.0.0.1:${PRICING_PORT}"
gunicorn --bind "127.0.0.1:${PRICING_PORT}" --workers 2 --threads 4 --name pricing-service \
    --log-level warning pricing:app &
python3 fulfil.py fulfilment-worker 1 &
python3 fulfil.py fulfilment-worker 2 &
python3 -c '
import os, sys, time, requests
for _ in range(250):
    try:
        if requests.get(os.environ["PRICING_URL"] + "/health", timeout=1).ok:
            sys.exit(0)
    except requests.RequestException:
        pass
    time.sleep(0.1)
sys.exit("the pricing service did not start")
'
exec gunicorn --bind "127.0.0.1:${PORT}" --workers 2 --threads 8 --log-level warning orders:app
