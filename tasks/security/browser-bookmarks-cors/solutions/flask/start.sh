#!/bin/sh
# Bookmarks API, Flask flavour: create the schema once, then serve with gunicorn in the foreground.
set -eu
cd "$(dirname "$0")"
python3 -m bookmarks.store
exec python3 -m gunicorn \
    --bind "127.0.0.1:${PORT}" \
    --workers 2 --worker-class gthread --threads 8 \
    "bookmarks:create_app()"
