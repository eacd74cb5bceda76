#!/usr/bin/env bash
# Hostile: never listens on $PORT; sleeps (for at most 120 s).
echo "never ready: sleeping"
exec sleep 120
