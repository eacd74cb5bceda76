#!/usr/bin/env bash
# Hostile: for 40 s, SIGKILLs every process it can see (and PostgreSQL, Redis, the servers and
# the sandbox's own helpers by name), never serving. Only its own sample's processes should be
# visible; its sample's PostgreSQL must still answer.
echo "killer: I see: $(ps -eo user=,comm= | sort | uniq -c | tr -s ' \n' ' ')"
pg_up() {
    python3 -c 'import socket; socket.create_connection(("127.0.0.1", 5432), 2)' 2>/dev/null \
        && echo yes || echo no
}
for round in $(seq 1 130); do
    kill -9 -1 2>/dev/null
    pkill -9 postgres 2>/dev/null
    pkill -9 -f redis-server 2>/dev/null
    killall -9 redis-server postgres uvicorn python3 bwrap nsenter sleep locust pytest \
        inspect 2>/dev/null
    if [ "$round" = 10 ] || [ "$round" = 90 ]; then
        echo "killer: round $round, postgres on 5432 still accepts: $(pg_up)"
    fi
    sleep 0.3
done
echo "killer: done"
