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

    async def handle(self, request: Request) -> Response:
        self.store.add(request_record(request))
        if self.payload is None:
            return Response(self.status)
        return Response.of_json(self.status, self.payload)

    def reset(self) -> None:
        self.store.clear()
        self.status, self.payload = DEFAULT_STATUS, None

    def admin(self, request: Request) -> Response | None:
        """POST /configure {"status": 500, "json": {...}}: what the sink answers from now on."""
        if (request.method, request.path) != ("POST", "/configure"):
            return None
        body = request.json()
        status = int(body.get("status", DEFAULT_STATUS))
        if not 200 <= status <= 599:
            return Response.of_json(422, {"error": "status must be 200-599"})
        self.status, self.payload = status, body.get("json")
        return Response.of_json(200, {"status": self.status})
