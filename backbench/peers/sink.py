"""The `http_sink` peer: records every request and answers a status tests may change."""

from __future__ import annotations

from typing import Any

from backbench.peers._http import Request, Response
from backbench.peers.limits import Limits
from backbench.peers.store import Store, request_record

DEFAULT_STATUS = 204


class SinkPeer:
    """Every request is recorded; the answer is `status` (204 unless configured)."""

    kind = "http_sink"

    def __init__(self, limits: Limits) -> None:
        self.store = Store(limits.max_records)
        self.status = DEFAULT_STATUS
        self.payload: Any = None
        self.times: int | None = None  # answers left before the default comes back

    async def handle(self, request: Request) -> Response:
        self.store.add(request_record(request))
        status, payload = self.status, self.payload
        if self.times is not None:
            self.times -= 1
            if self.times <= 0:  # a receiver that fails at first, then recovers
                self.status, self.payload, self.times = DEFAULT_STATUS, None, None
        if payload is None:
            return Response(status)
        return Response.of_json(status, payload)

    def reset(self) -> None:
        self.store.clear()
        self.status, self.payload, self.times = DEFAULT_STATUS, None, None

    def admin(self, request: Request) -> Response | None:
        """POST /configure {"status": 500, "json": {...}, "times": 3}: what the sink answers from
        now on (for the next `times` requests only, when given)."""
        if (request.method, request.path) != ("POST", "/configure"):
            return None
        body = request.json()
        status = int(body.get("status", DEFAULT_STATUS))
        times = body.get("times")
        if not 200 <= status <= 599:
            return Response.of_json(422, {"error": "status must be 200-599"})
        if times is not None and (type(times) is not int or times < 1):
            return Response.of_json(422, {"error": "times must be a positive integer"})
        self.status, self.payload, self.times = status, body.get("json"), times
        return Response.of_json(200, {"status": self.status})
