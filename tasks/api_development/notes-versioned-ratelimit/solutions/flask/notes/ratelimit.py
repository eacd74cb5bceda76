"""Per-client fixed-window rate limiting, counted in Redis so it holds across processes."""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass

import redis
from flask import Flask, Response, current_app, g, request

from .errors import MissingClientId, RateLimited, Unauthorized

LIMIT = 20
WINDOW_MS = 60_000
PROTECTED_PREFIXES = ("/v1/", "/v2/")

# The first request of a client opens its 60-second window; INCR and PEXPIRE run atomically.
_HIT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


@dataclass(frozen=True)
class Window:
    """A client's standing in its current window, after counting this request."""

    count: int
    ms_left: int

    @property
    def remaining(self) -> int:
        return max(0, LIMIT - self.count)

    @property
    def exceeded(self) -> bool:
        return self.count > LIMIT

    @property
    def retry_after(self) -> int:
        return min(60, max(1, math.ceil(self.ms_left / 1000)))


def init_app(app: Flask) -> None:
    client = redis.Redis.from_url(app.config["REDIS_URL"])
    app.extensions["rate_limit_hit"] = client.register_script(_HIT)
    app.before_request(guard)
    app.after_request(add_rate_limit_headers)


def _is_protected(path: str) -> bool:
    return path.startswith(PROTECTED_PREFIXES) or path in ("/v1", "/v2")


def hit(client_id: str) -> Window:
    """Count one request of `client_id` and return its window."""
    key = "ratelimit:" + hashlib.sha256(client_id.encode("utf-8", "surrogateescape")).hexdigest()
    count, ms_left = current_app.extensions["rate_limit_hit"](keys=[key], args=[WINDOW_MS])
    return Window(int(count), int(ms_left))


def guard() -> None:
    """Authentication, then client id, then rate limit, before any /v1 or /v2 endpoint."""
    if not _is_protected(request.path):
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    expected = current_app.config["APP_SECRET"]
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("A valid bearer token is required.")
    client_id = request.headers.get("X-Client-Id", "")
    if not client_id:
        raise MissingClientId("The X-Client-Id header is required.")
    g.rate_window = window = hit(client_id)
    if window.exceeded:
        raise RateLimited(f"Rate limit of {LIMIT} requests per 60 seconds exceeded.")


def add_rate_limit_headers(response: Response) -> Response:
    window: Window | None = g.get("rate_window")
    if window is not None:
        response.headers["X-RateLimit-Limit"] = str(LIMIT)
        response.headers["X-RateLimit-Remaining"] = str(window.remaining)
        if window.exceeded:
            response.headers["Retry-After"] = str(window.retry_after)
    return response
