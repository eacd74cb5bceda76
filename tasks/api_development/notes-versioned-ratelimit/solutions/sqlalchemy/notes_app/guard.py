"""HTTP middleware for /v1 and /v2: authentication, then client id, then the rate limit."""

import hmac
import os
from collections.abc import Awaitable, Callable

from fastapi import Request, Response

from notes_app.errors import error_response
from notes_app.ratelimit import count_request

GUARDED_PREFIXES = ("/v1", "/v2")

CallNext = Callable[[Request], Awaitable[Response]]


def _is_guarded(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in GUARDED_PREFIXES)


def _has_valid_token(authorization: str | None) -> bool:
    scheme, _, token = (authorization or "").strip().partition(" ")
    secret = os.environ["APP_SECRET"]
    if scheme.lower() != "bearer" or not secret:
        return False
    return hmac.compare_digest(token.strip().encode("latin-1"), secret.encode("utf-8"))


async def guard(request: Request, call_next: CallNext) -> Response:
    """Refuse with 401 / 400 / 429, or pass on and add the rate-limit headers to the answer."""
    if not _is_guarded(request.url.path):
        return await call_next(request)
    if not _has_valid_token(request.headers.get("authorization")):
        return error_response(401, "unauthorized", "missing or wrong bearer token")
    client_id = request.headers.get("x-client-id", "").strip()
    if not client_id:
        return error_response(400, "missing_client_id", "the X-Client-Id header is required")
    decision = await count_request(request.app.state.redis, client_id)
    if not decision.allowed:
        headers = {**decision.headers, "Retry-After": decision.retry_after}
        return error_response(429, "rate_limited", "rate limit exceeded", headers=headers)
    response = await call_next(request)
    response.headers.update(decision.headers)
    return response
