"""Pure-ASGI middleware for /v1 and /v2: authentication, client id, then the rate limit."""

import hmac

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from errors import error_response
from ratelimit import RateLimiter

VERSIONED_PREFIXES = ("/v1", "/v2")


class Guard:
    """Refuse with 401, 400 or 429 before the app runs; add rate-limit headers to its answers."""

    def __init__(self, app: ASGIApp, secret: str, limiter: "LimiterHolder") -> None:
        self.app = app
        self.token = secret.encode("utf-8")
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_versioned(scope["path"]):
            await self.app(scope, receive, send)
            return
        if not self._authenticated(_raw_header(scope, b"authorization")):
            response = error_response(401, "unauthorized", "a valid bearer token is required")
            await response(scope, receive, send)
            return
        client_id = _raw_header(scope, b"x-client-id").strip()
        if not client_id:
            message = "the X-Client-Id header is required"
            response = error_response(400, "missing_client_id", message)
            await response(scope, receive, send)
            return
        verdict = await self.limiter.get().hit(client_id)
        if not verdict.allowed:
            response = error_response(429, "rate_limited", "too many requests in this window")
            response.headers["Retry-After"] = str(verdict.retry_after)
            response.raw_headers.extend(verdict.headers())
            await response(scope, receive, send)
            return
        await self.app(scope, receive, _adding_headers(send, verdict.headers()))

    def _authenticated(self, authorization: bytes) -> bool:
        scheme, _, token = authorization.strip().partition(b" ")
        if scheme.lower() != b"bearer" or not self.token:
            return False
        return hmac.compare_digest(token.strip(), self.token)


class LimiterHolder:
    """Filled in by the application lifespan, once the Redis client exists."""

    def __init__(self) -> None:
        self._limiter: RateLimiter | None = None

    def set(self, limiter: RateLimiter | None) -> None:
        self._limiter = limiter

    def get(self) -> RateLimiter:
        if self._limiter is None:
            raise RuntimeError("the rate limiter is not ready")
        return self._limiter


def _is_versioned(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in VERSIONED_PREFIXES)


def _raw_header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value
    return b""


def _adding_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return send_with_headers
