"""A fake rates API (an httpx.MockTransport), a fake clock and a recording sleep.

No test reaches the network: every client is built with the fake API's transport.
"""

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app import RatesClient

Answer = httpx.Response | Exception

USD, GBP, JPY = "1.25", "0.8", "160"


def rates_body(base: str = "EUR", **rates: Any) -> dict[str, Any]:
    """A valid body of the API; rates default to USD 1.25, GBP 0.8, JPY 160."""
    listed = rates or {"USD": USD, "GBP": GBP, "JPY": JPY}
    return {"base": base, "date": "2024-05-02", "rates": listed}


class FakeApi:
    """Answers the queued answers in order, repeating the last; records every request."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.requests: list[httpx.Request] = []
        self.closed = False
        self.on_request: Callable[[], None] = lambda: None

    def answer(self, *answers: Answer | int) -> None:
        """Answer the next requests with these, in order (the last one repeats), replacing
        what was queued: a response, an exception to raise, or a bare status code."""
        self.answers = [httpx.Response(a) if isinstance(a, int) else a for a in answers]

    def ok(self, base: str = "EUR", **rates: Any) -> httpx.Response:
        return self.rates_with_status(200, base, **rates)

    def rates_with_status(self, status: int, base: str = "EUR", **rates: Any) -> httpx.Response:
        """A response of that status carrying a body that would be valid with a 200."""
        return httpx.Response(status, json=rates_body(base, **rates))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.on_request()
        if not self.answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


class RecordingTransport(httpx.MockTransport):
    """A MockTransport that remembers being closed."""

    def __init__(self, api: FakeApi) -> None:
        super().__init__(api.handle)
        self.api = api

    def close(self) -> None:
        self.api.closed = True


class FakeClock:
    """A clock that only moves when told to; it starts far from 0 on purpose."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(
    api: FakeApi, clock: FakeClock, sleeps: list[float]
) -> Callable[..., RatesClient]:
    """Build a RatesClient on the fake API, clock and sleep; keyword arguments override."""

    def build(
        base_url: str = "https://rates.example", api_key: str = "key-1", **kw: Any
    ) -> RatesClient:
        kw.setdefault("transport", RecordingTransport(api))
        kw.setdefault("clock", clock)
        kw.setdefault("sleep", sleeps.append)
        return RatesClient(base_url, api_key, **kw)

    return build
