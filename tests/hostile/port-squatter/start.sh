#!/usr/bin/env bash
# Hostile: listens on every port it can near PostgreSQL's and Redis's and on other common ones,
# then answers 503 to everything on $PORT.
cd "$(dirname "$0")"
exec timeout --foreground 120 python3 port_squatter.py
