#!/usr/bin/env bash
# Hostile: runs its server in a session (and process group) of its own that still holds
# start.sh's output, and waits for it: killing start.sh's process group does not end it.
# The server ends by itself after 120 s.
cd "$(dirname "$0")"
setsid python3 stub_server.py --alarm 120 --banner "escaper: serving in a session of its own since" &
wait
