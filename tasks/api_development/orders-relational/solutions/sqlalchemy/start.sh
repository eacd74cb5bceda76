#!/bin/sh
# Migrate the empty database to the latest schema, then serve with three gunicorn workers.
set -e
cd "$(dirname "$0")"
python3 -m alembic -c alembic.ini upgrade head
exec python3 -m gunicorn main:app --worker-class uvicorn.workers.UvicornWorker --workers 3 \
    --bind "127.0.0.1:$PORT" --log-level warning
