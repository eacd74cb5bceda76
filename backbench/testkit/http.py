"""An HTTP client whose every request has a total deadline (connect, send, wait and body).

Per-read timeouts do not bound a request: a server that dribbles one byte a second answers every
read in time and never finishes. Here each request gets an absolute deadline; the network stream
bounds every connect, read and write by the time left before it, and the request fails with
`DeadlineExceeded` once it has passed. The deadline lives in a thread-local, so clients used
from worker threads (concurrency tests) keep their own.

    with deadline_client("http://127.0.0.1:8000", deadline=10) as client:
        client.get("/health")                                  # at most 10 s in all
        client.get("/slow", extensions={"deadline": 2.5})      # at most 2.5 s

No pytest here: the harness's own probes may use it too.
"""

from __future__ import annotations

import functools
import ssl
import threading
import time
import typing
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import httpcore
import httpx

DEFAULT_DEADLINE = 10.0
DEADLINE_EXTENSION = "deadline"
# A server that has let this many requests run out of their deadline is not tested further: the
# kit fails each remaining test at once with UNRESPONSIVE in its message (the scorer looks for
# it), so a server that stalls or dribbles costs a few deadlines, not one per request.
MAX_DEADLINE_MISSES = 3
UNRESPONSIVE = "not run: the server let requests run out of their deadline"


class DeadlineExceeded(httpx.TimeoutException):
    """A request did not complete (answer and body) within its total deadline."""

    def __init__(self, method: str, path: str, deadline: float, request: httpx.Request) -> None:
        super().__init__(
            f"{method} {path} did not complete within its {deadline:g} s deadline",
            request=request,
        )
        self.method = method
        self.path = path
        self.deadline = deadline


_current = threading.local()
# requests of this process that ran out of their deadline: the kit stops testing a server that
# keeps missing them (see backbench.testkit.plugin), so a stalled server costs seconds, not hours
_misses_lock = threading.Lock()
_misses = [0]


def deadline_misses() -> int:
    """How many requests of this process have missed their deadline so far."""
    with _misses_lock:
        return _misses[0]


def _count_miss() -> None:
    with _misses_lock:
        _misses[0] += 1


def _time_left() -> float | None:
    """Seconds left before this thread's request deadline (None: no deadline set)."""
    deadline: float | None = getattr(_current, "deadline", None)
    if deadline is None:
        return None
    return deadline - time.monotonic()


def _bounded(timeout: float | None) -> float:
    """`timeout` cut to the time left; raises a timeout once nothing is left."""
    left = _time_left()
    if left is None:
        return timeout if timeout is not None else DEFAULT_DEADLINE
    if left <= 0:
        raise httpcore.TimeoutException("request deadline passed")
    return left if timeout is None else min(timeout, left)


@contextmanager
def _deadline_scope(seconds: float) -> Iterator[None]:
    previous = getattr(_current, "deadline", None)
    _current.deadline = time.monotonic() + seconds
    try:
        yield
    finally:
        _current.deadline = previous


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose reads and writes never outlast the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: typing.Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout))
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, with connects and streams bounded by the deadline."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, _bounded(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._inner.connect_unix_socket(path, _bounded(timeout), socket_options)
        )

    def sleep(self, seconds: float) -> None:
        left = _time_left()
        self._inner.sleep(seconds if left is None else max(0.0, min(seconds, left)))


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """The one default SSL context of the test kit's clients (see DeadlineTransport)."""
    return ssl.create_default_context()


class DeadlineTransport(httpx.HTTPTransport):
    """An httpx transport that bounds each request, body included, by a total deadline.

    The deadline is `deadline` seconds, or the request's `extensions["deadline"]`. The body is
    read inside the deadline, so a streamed response arrives already read.
    """

    def __init__(self, deadline: float = DEFAULT_DEADLINE, **kwargs: typing.Any) -> None:
        # httpx builds a fresh SSL context for every transport: 30-60 ms, paid by every client a
        # hidden test makes (about two a test). One context, made once, serves them all.
        context = kwargs.setdefault("verify", _ssl_context())
        super().__init__(**kwargs)
        self.deadline = deadline
        limits: httpx.Limits = kwargs.get("limits", httpx.Limits())
        # httpx builds its pool with httpcore's default backend; the same pool over ours
        self._pool = httpcore.ConnectionPool(
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            retries=kwargs.get("retries", 0),
            network_backend=_DeadlineBackend(),
            ssl_context=context if isinstance(context, ssl.SSLContext) else None,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = float(request.extensions.get(DEADLINE_EXTENSION, self.deadline))
        with _deadline_scope(deadline):
            try:
                response = super().handle_request(request)
                response.read()
            except httpx.TimeoutException as ex:
                left = _time_left()
                if left is not None and left <= 0.05:
                    _count_miss()
                    raise DeadlineExceeded(
                        request.method, request.url.raw_path.decode(), deadline, request
                    ) from ex
                raise
        return response


def deadline_client(
    base_url: str,
    *,
    headers: Mapping[str, str] | None = None,
    deadline: float = DEFAULT_DEADLINE,
) -> httpx.Client:
    """An httpx.Client of `base_url` whose requests each complete within `deadline` seconds."""
    return httpx.Client(
        base_url=base_url,
        headers=dict(headers or {}),
        transport=DeadlineTransport(deadline=deadline),
        # httpx's own per-operation timeouts, never longer than the deadline
        timeout=httpx.Timeout(deadline),
        trust_env=False,
    )
