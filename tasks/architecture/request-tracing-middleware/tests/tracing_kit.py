"""What the request-tracing tests share: the header checks every answer must pass, the error
body check, and a reader of the server's output that waits for a request's JSON lines."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
SERVER_TIMING = re.compile(r"app;dur=([0-9]+(?:\.[0-9]+)?)")
OUTPUT_BYTES = 1024 * 1024
WAIT_SECONDS = 5.0


def new_request_id() -> str:
    """A valid request id no other test or run uses (letters, digits, '.', '_' and '-')."""
    return f"Rq.{uuid.uuid4().hex[:12]}_T-{uuid.uuid4().hex[:8]}"


def is_uuid4(value: str) -> bool:
    """A UUID version 4 in canonical lowercase form."""
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    return parsed.version == 4 and str(parsed) == value


def timing_ms(response: httpx.Response) -> float:
    """The Server-Timing value in milliseconds; fails unless it is exactly app;dur=<ms>."""
    value = response.headers.get("server-timing")
    assert value is not None, ("no Server-Timing header", response.status_code, response.url)
    match = SERVER_TIMING.fullmatch(value)
    assert match, ("Server-Timing is not app;dur=<ms>", value)
    return float(match.group(1))


def traced(response: httpx.Response, request_id: str | None = None) -> str:
    """The answer's request id: one X-Request-ID header, valid, equal to `request_id` when one
    was sent, and a Server-Timing header; an error answer also has the error body with it."""
    values = response.headers.get_list("x-request-id")
    where = (response.request.method, str(response.request.url), response.status_code)
    assert len(values) == 1, ("X-Request-ID must appear once", values, where)
    got = values[0]
    if request_id is not None:
        assert got == request_id, ("X-Request-ID is not the id sent", got, request_id, where)
    else:
        assert is_uuid4(got), ("not a canonical lowercase UUID4", got, where)
    timing_ms(response)
    if response.status_code >= 400:
        body = response.json()
        assert body["error"]["request_id"] == got, (body, got)
    return got


def assert_error(
    response: httpx.Response, status: int, code: str, request_id: str | None = None
) -> dict[str, Any]:
    """`status` with {"error": {"code": code, "message": <text>, "request_id": <the header>}}."""
    assert response.status_code == status, (
        response.request.method, str(response.request.url), response.status_code,
        response.text[:300],
    )  # fmt: skip
    assert response.headers.get("content-type", "").startswith("application/json"), response
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and error.get("code") == code, body
    assert isinstance(error.get("message"), str) and error["message"], body
    assert error.get("request_id") == traced(response, request_id), body
    return error


def json_lines(text: str) -> list[dict[str, Any]]:
    """The output's lines that are JSON objects."""
    found = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def wait_for_output(
    server: Any, ready: Callable[[str], bool], seconds: float = WAIT_SECONDS
) -> str:
    """The server's output once `ready` holds for it (the last output read when time runs out:
    the caller's assertions then say what is missing)."""
    deadline = time.monotonic() + seconds
    text = server.output(size=OUTPUT_BYTES)
    while not ready(text) and time.monotonic() < deadline:
        time.sleep(0.1)
        text = server.output(size=OUTPUT_BYTES)
    return text


def access_lines(text: str, request_id: str) -> list[dict[str, Any]]:
    return [
        line for line in json_lines(text)
        if line.get("event") == "request" and line.get("request_id") == request_id
    ]  # fmt: skip


def access_line(server: Any, request_id: str) -> dict[str, Any]:
    """The one access line of the request."""
    wait_for_output(server, lambda t: bool(access_lines(t, request_id)))
    # a moment more, so that a second access line of the same request would show too
    time.sleep(0.2)
    found = access_lines(server.output(size=OUTPUT_BYTES), request_id)
    assert len(found) == 1, (f"{len(found)} access lines for {request_id}", found[:3])
    return found[0]
