#!/usr/bin/env bash
# Hostile: a fork storm. The sandbox should stop it at its process limit; `ulimit -u` is a
# second belt in case it does not, and every child ends by itself.
ulimit -u 1200 2>/dev/null
cd "$(dirname "$0")"
exec timeout --foreground 60 python3 fork_storm.py
