#!/usr/bin/env bash
# Hostile: starts its server as a daemon (new session, detached from start.sh), waits until it
# serves, then exits: not a foreground server.
cd "$(dirname "$0")"
setsid nohup python3 stub_server.py --all-ok >/dev/null 2>&1 </dev/null &
for _ in $(seq 1 100); do
    python3 -c 'import os, socket; socket.create_connection(("127.0.0.1", int(os.environ["PORT"])), 1)' \
        2>/dev/null && break
    sleep 0.1
done
sleep 2
echo "daemonizer: the daemon serves; start.sh exits"
exit 0
