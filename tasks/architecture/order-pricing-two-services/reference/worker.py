"""The pricing side's fulfilment worker: `python3 worker.py fulfilment-worker`.

Two consumer threads move each message from fulfilment:queue to a processing list (BLMOVE), so
a message taken by a worker that dies is not lost: at start-up, before any consumer runs, the
processing list is put back on the queue. Fulfilling is one transaction that flips the order
from pending to fulfilled and only then takes its stock, so a duplicate message changes nothing.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time

import psycopg
from redis import Redis

from common import QUEUE

PROCESSING = "fulfilment:processing"
CONSUMERS = 2
log = logging.getLogger("fulfilment")


def order_id_of(raw: str) -> int | None:
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    order_id = message.get("order_id") if isinstance(message, dict) else None
    return order_id if type(order_id) is int else None  # psycopg sends a huge one as numeric


def fulfil(conn: psycopg.Connection, order_id: int) -> None:
    with conn.transaction():
        order = conn.execute(
            "UPDATE orders SET status = 'fulfilled' WHERE id = %s AND status = 'pending' "
            "RETURNING sku, quantity",
            (order_id,),
        ).fetchone()
        if order is not None:
            conn.execute(
                "UPDATE products SET stock = stock - %s WHERE sku = %s", (order[1], order[0])
            )


def consume(redis: Redis) -> None:
    conn: psycopg.Connection | None = None
    while True:
        raw = redis.blmove(QUEUE, PROCESSING, 1, "RIGHT", "LEFT")
        if raw is None:
            continue
        order_id = order_id_of(raw)
        try:
            if order_id is not None:
                if conn is None or conn.closed:
                    conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
                fulfil(conn, order_id)
        except psycopg.Error:
            log.exception("fulfilment of %s failed; it waits for the next start", order_id)
            conn = None
            time.sleep(0.5)
            continue
        redis.lrem(PROCESSING, 1, raw)


def recover(redis: Redis) -> None:
    """Messages a dead worker had taken go back to the queue's tail, to be handled first."""
    while redis.lmove(PROCESSING, QUEUE, "RIGHT", "RIGHT") is not None:
        pass


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout)
    connection = Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
    recover(connection)
    threads = [threading.Thread(target=consume, args=(connection,)) for _ in range(CONSUMERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
