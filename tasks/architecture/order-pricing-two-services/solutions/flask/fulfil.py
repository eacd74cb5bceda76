"""Fulfilment worker: `python3 fulfil.py fulfilment-worker N` (start.sh runs two).

Each worker moves a message to its own in-flight list with BRPOPLPUSH-style LMOVE and removes it
when done; at start it puts back what a previous run of the same worker left there.
"""

import json
import os
import sys
import time

import psycopg
import redis

QUEUE_KEY = "fulfilment:queue"


def parse(raw):
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    oid = data.get("order_id")
    if isinstance(oid, bool) or not isinstance(oid, int) or not 0 < oid < 2**63:
        return None
    return oid


def fulfil(conn, oid):
    with conn.transaction():
        row = conn.execute(
            "SELECT sku, quantity, status FROM orders WHERE id = %s FOR UPDATE", (oid,)
        ).fetchone()
        if row is None or row[2] != "pending":
            return
        conn.execute("UPDATE products SET stock = stock - %s WHERE sku = %s", (row[1], row[0]))
        conn.execute("UPDATE orders SET status = 'fulfilled' WHERE id = %s", (oid,))


def main(name):
    inflight = f"fulfilment:inflight:{name}"
    r = redis.Redis.from_url(os.environ["REDIS_URL"])
    while r.lmove(inflight, QUEUE_KEY, "LEFT", "RIGHT") is not None:
        pass
    conn = None
    while True:
        raw = r.blmove(QUEUE_KEY, inflight, 2, "RIGHT", "LEFT")
        if raw is None:
            continue
        oid = parse(raw)
        if oid is not None:
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
                fulfil(conn, oid)
            except psycopg.Error as ex:
                print(f"fulfilment of order {oid} failed: {ex}", flush=True)
                conn = None
                time.sleep(1)
                r.lmove(inflight, QUEUE_KEY, "LEFT", "RIGHT")
                continue
        r.lrem(inflight, 1, raw)


if __name__ == "__main__":
    main(sys.argv[2] if len(sys.argv) > 2 else "1")
