#!/bin/sh
# Bring the schema to the latest alembic revision, then serve with three gunicorn workers.
set -eu
cd "$(dirname "$0")"
python3 -m alembic -c alembic.ini upgrade head
exec python3 -m gunicorn inventory.main:app \
    --worker-class uvicorn.workers.UvicornWorker --workers 3 \
    --bind "127.0.0.1:$PORT" --log-level warning
