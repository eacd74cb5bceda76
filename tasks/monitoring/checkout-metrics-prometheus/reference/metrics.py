"""The service's Prometheus metrics and the ASGI middleware that records every request.

Requests are labelled with their route template (never the raw path, whose values are
unbounded); a path no route has is recorded as "unmatched". Requests to /metrics are not
recorded.
"""

import re
import time

from prometheus_client import Counter, Gauge, Histogram

BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)
METRICS_PATH = "/metrics"
UNMATCHED = "unmatched"
ROUTES = (
    ("/health", re.compile(r"/health")),
    ("/v1/orders", re.compile(r"/v1/orders")),
    ("/v1/orders/{id}", re.compile(r"/v1/orders/[^/]+")),
    ("/v1/orders/{id}/pay", re.compile(r"/v1/orders/[^/]+/pay")),
)

REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered.", ["method", "route", "status"]
)
DURATION = Histogram(
    "http_request_duration_seconds",
    "Time taken to answer HTTP requests, in seconds.",
    ["method", "route"],
    buckets=BUCKETS,
)
ORDERS_CREATED = Counter("orders_created_total", "Orders created through the API.")
ORDERS_OPEN = Gauge("orders_open", "Orders whose status is open in the database.")


def route_of(path: str) -> str:
    """The route template a path belongs to, or "unmatched"."""
    for template, pattern in ROUTES:
        if pattern.fullmatch(path):
            return template
    return UNMATCHED


class MetricsMiddleware:
    """Counts and times every HTTP request but those to /metrics."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_recording(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            method, route = scope["method"], route_of(scope["path"])
            REQUESTS.labels(method, route, str(status)).inc()
            DURATION.labels(method, route).observe(time.perf_counter() - start)
