#!/bin/sh
# Inventory API, Django flavour: apply the migrations, then serve with gunicorn in the foreground.
set -eu
cd "$(dirname "$0")"
python3 manage.py migrate --noinput
exec python3 -m gunicorn \
    --bind "127.0.0.1:${PORT}" \
    --workers 2 --worker-class gthread --threads 8 \
    --limit-request-line 8190 \
    --access-logfile - \
    config.wsgi:application
