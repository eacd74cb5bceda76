#!/bin/sh
# Create the tables once, then serve with gunicorn (threaded workers) in the foreground.
set -e
cd "$(dirname "$0")"
python3 db.py
exec python3 -m gunicorn --bind "127.0.0.1:$PORT" --workers 2 --threads 4 \
    --log-level warning app:app
