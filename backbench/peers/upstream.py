"""The `upstream` peer: an HTTP API whose answers tests program per route, recording calls.

A route is a method and an exact path (`*` matches any method). Its program answers `status`
with `json` and `headers` after `delay_ms`; the first `fail_times` calls fail instead (with
`fail_status`, or by dropping the connection when `drop` is set); `drop` with no `fail_times`
drops every call. A route nobody programmed answers 404.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from backbench.peers._http import Request, Response
from backbench.peers.limits import Limits
from backbench.peers.store import Store, request_record


@dataclass
class Program:
    """The programmed behaviour of one route, and how many calls it has served."""

    status: int = 200
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_ms: int = 0
    fail_times: int = 0
    fail_status: int = 503
    drop: bool = False
    calls: int = 0

    def next_call(self) -> str:
        """What the next call gets ("ok", "fail" or "drop"); counts the call."""
        failing = self.calls < self.fail_times
        self.calls += 1
        if self.drop and (failing or self.fail_times == 0):
            return "drop"
        return "fail" if failing else "ok"


def parse_fault(body: dict[str, Any], limits: Limits) -> Program:
    """The fault part of an admin body (delay_ms, fail_times, fail_status, drop); ValueError
    when it is out of bounds. The oidc, s3 and payments peers program their faults with it."""
    program = Program(
        delay_ms=int(body.get("delay_ms", 0)),
        fail_times=int(body.get("fail_times", 0)),
        fail_status=int(body.get("fail_status", 503)),
        drop=bool(body.get("drop", False)),
    )
    if not 0 <= program.delay_ms <= limits.max_delay_ms:
        raise ValueError(f"delay_ms must be 0-{limits.max_delay_ms}")
    if not 200 <= program.fail_status <= 599:
        raise ValueError("statuses must be 200-599")
    if program.fail_times < 0:
        raise ValueError("fail_times must be >= 0")
    return program


def parse_program(body: dict[str, Any], limits: Limits) -> tuple[str, str, Program]:
    """The route and program of a POST /program body; ValueError when it is not valid."""
    method, path = str(body.get("method", "GET")).upper(), str(body.get("path", ""))
    if not path.startswith("/"):
        raise ValueError("path must start with /")
    program = parse_fault(body, limits)
    program.status = int(body.get("status", 200))
    program.json = body.get("json")
    program.headers = {str(k): str(v) for k, v in (body.get("headers") or {}).items()}
    if not 200 <= program.status <= 599:
        raise ValueError("statuses must be 200-599")
    return method, path, program


class UpstreamPeer:
    """Answers calls as programmed and records each with its outcome."""

    kind = "upstream"

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.store = Store(limits.max_records)
        self.programs: dict[tuple[str, str], Program] = {}

    async def handle(self, request: Request) -> Response | None:
        program = self.programs.get((request.method, request.path)) or self.programs.get(
            ("*", request.path)
        )
        if program is None:
            self.store.add({**request_record(request), "outcome": 404})
            return Response.of_json(404, {"error": "no program for this route"})
        call = program.next_call()
        status = program.fail_status if call == "fail" else program.status
        # recorded on arrival, so a test sees a call that is still being delayed
        outcome: int | str = "dropped" if call == "drop" else status
        self.store.add({**request_record(request), "outcome": outcome})
        await asyncio.sleep(program.delay_ms / 1000)
        if call == "drop":
            return None
        if call == "fail":
            return Response.of_json(status, {"error": "programmed failure"})
        return Response.of_json(status, program.json, list(program.headers.items()))

    def reset(self) -> None:
        self.store.clear()
        self.programs.clear()

    def admin(self, request: Request) -> Response | None:
        """POST /program {method, path, status, json, headers, delay_ms, fail_times, ...}."""
        if (request.method, request.path) != ("POST", "/program"):
            return None
        try:
            method, path, program = parse_program(request.json(), self.limits)
        except (ValueError, TypeError, AttributeError) as ex:
            return Response.of_json(422, {"error": str(ex)})
        if (method, path) not in self.programs and len(self.programs) >= self.limits.max_routes:
            return Response.of_json(422, {"error": "too many programmed routes"})
        self.programs[(method, path)] = program
        return Response.of_json(200, {"method": method, "path": path})
