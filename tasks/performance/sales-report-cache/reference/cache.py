"""Reports cached in Redis, every instance of the service sharing them.

A report is stored under a key that holds its store's and year's generation, a counter each
recorded sale increments after its transaction commits. A report computed while a sale was being
recorded is stored under the old generation, which no reader asks for any more: a write is never
hidden by a report cached before it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import redis

TTL_SECONDS = 600
client = redis.Redis.from_url(
    os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    socket_timeout=1,
    socket_connect_timeout=1,
    decode_responses=True,
)


def _generation_key(store_id: int, year: int) -> str:
    return f"sales-report:generation:{store_id}:{year}"


def cached(store_id: int, year: int, compute: Callable[[], dict[str, Any] | None]) -> Any:
    """The cached report, else the computed one, stored for the next reader."""
    generation = client.get(_generation_key(store_id, year)) or "0"
    key = f"sales-report:{store_id}:{year}:{generation}"
    hit = client.get(key)
    if hit is not None:
        return json.loads(hit)
    report = compute()
    if report is not None:  # an unknown store is not cached: it may not stay unknown
        client.set(key, json.dumps(report), ex=TTL_SECONDS)
    return report


def invalidate(store_id: int, year: int) -> None:
    """A sale of this store and year was committed: the next reader computes anew."""
    client.incr(_generation_key(store_id, year))
