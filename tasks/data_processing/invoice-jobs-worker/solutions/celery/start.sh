#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
# the schema, and a task for every invoice left queued by a crash, before anything serves
python3 -c 'import tasks; tasks.prepare()'
# the Celery worker (its prefork children stay in this process group); the HTTP server starts
# once the worker consumes, so that a first attempt never waits for the worker's start-up
export WORKER_READY_FILE
WORKER_READY_FILE=$(mktemp -u /tmp/invoice-worker-ready.XXXXXXXX)
python3 -m celery -A tasks worker -n delivery-worker@%h --concurrency 4 --pool prefork \
    --loglevel WARNING --without-gossip --without-mingle --without-heartbeat &
for _ in $(seq 250); do
  [ -e "$WORKER_READY_FILE" ] && break
  sleep 0.1
done
rm -f "$WORKER_READY_FILE"
exec python3 -m gunicorn --workers 2 --threads 8 --bind "127.0.0.1:$PORT" --log-level warning app:app
