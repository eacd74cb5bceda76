#!/bin/sh
# Migrate the database with alembic, then serve with three gunicorn/uvicorn workers.
set -eu
cd "$(dirname "$0")"
: "${DATABASE_URL:?DATABASE_URL is required}"
: "${REDIS_URL:?REDIS_URL is required}"
: "${APP_SECRET:?APP_SECRET is required}"
export PYTHONDONTWRITEBYTECODE=1
python3 -m alembic -c alembic.ini upgrade head
exec python3 -m gunicorn notes_app.main:app \
    --worker-class uvicorn.workers.UvicornWorker --workers 3 \
    --bind "127.0.0.1:${PORT:-8000}" --log-level warning
