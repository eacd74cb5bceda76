"""Every endpoint except GET /health needs `Authorization: Bearer <APP_SECRET>`."""

import hmac
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from .errors import Unauthorized

PUBLIC_PATHS = frozenset({"/health"})


class BearerTokenMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.expected = settings.APP_SECRET.encode()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path not in PUBLIC_PATHS and not self.has_valid_token(request):
            return Unauthorized("A valid bearer token is required.").response()
        return self.get_response(request)

    def has_valid_token(self, request: HttpRequest) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), self.expected)
