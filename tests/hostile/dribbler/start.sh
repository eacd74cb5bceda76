#!/usr/bin/env bash
# Hostile: answers every request at once with a 200 and its headers, then dribbles the body one
# byte a second, so every read completes in time and no answer ever does.
cd "$(dirname "$0")"
exec python3 stub_server.py --all-ok --dribble 1
