#!/bin/sh
# Serves the notes service on $PORT; the schema is created at start-up (app/main.py).
# HOST defaults to loopback; a container sets HOST=0.0.0.0 to be reachable from outside it.
set -eu
exec python3 -m uvicorn app.main:app --host "${HOST:-127.0.0.1}" --port "${PORT:?PORT is not set}"
