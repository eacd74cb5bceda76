#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
# three RQ workers in start.sh's process group; the API in the foreground (its exec keeps them
# its children). The API re-enqueues every queued invoice at start-up, after a crash too.
for _ in 1 2 3; do
  python3 worker.py delivery-worker &
done
exec python3 -m uvicorn app:app --host 127.0.0.1 --port "$PORT" --log-level warning \
    --no-server-header
