#!/usr/bin/env bash
# Hostile: accepts connections on $PORT and answers garbage bytes instead of HTTP.
cd "$(dirname "$0")"
exec python3 garbage_server.py
