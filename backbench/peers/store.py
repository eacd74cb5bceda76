"""A bounded record store: the newest `max_records` records, and how many were let go."""

from __future__ import annotations

import base64
from collections import deque
from typing import Any

from backbench.peers._http import Request


class Store:
    """Records a peer observed, numbered from 1, the oldest let go beyond the cap."""

    def __init__(self, max_records: int) -> None:
        self.items: deque[dict[str, Any]] = deque(maxlen=max_records)
        self.total = 0

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        self.total += 1
        record["seq"] = self.total
        self.items.append(record)
        return record

    def snapshot(self, since: int = 0) -> dict[str, Any]:
        """Records numbered above `since`, the count ever recorded and the count let go."""
        return {
            "items": [r for r in self.items if r["seq"] > since],
            "total": self.total,
            "dropped": self.total - len(self.items),
        }

    def clear(self) -> None:
        # numbering goes on, so a client's `since` stays meaningful across a reset
        self.items.clear()


def request_record(request: Request, cap: int | None = None) -> dict[str, Any]:
    """The JSON form of a request: body as base64 (exact bytes, for signature checks), its
    first `cap` bytes only where the server kept more (the s3 peer keeps whole uploads)."""
    body = request.body if cap is None else request.body[:cap]
    return {
        "time": request.received,
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "headers": [[k, v] for k, v in request.headers],
        "body_b64": base64.b64encode(body).decode(),
        "body_size": request.body_size,
        "truncated": request.body_size > len(body),
    }
