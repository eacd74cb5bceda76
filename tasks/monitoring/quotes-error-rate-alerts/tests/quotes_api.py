"""Helpers of the quotes tests: fresh symbols, programming the upstream per symbol, sending
quotes, and the notifications the sink received for one symbol."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import string
import time
from datetime import datetime
from typing import Any

import pytest

ALERT = "QuoteUpstreamErrors"
PRICE = {"price": 101.25, "currency": "USD", "venue": "XNAS"}
NOTIFY = 2.5  # stated: a notification within 1 s of its transition; waited with room
QUIET = 1.5  # how long a test waits to see that no (further) notification arrives
EVALUATE = 0.5  # stated: every symbol's rule at least every 0.5 s
_random = random.SystemRandom()


def new_symbol(prefix: str = "Q") -> str:
    """A symbol no other test or run uses: the prefix, then letters or digits up to 10."""
    return prefix + "".join(_random.choices(string.ascii_uppercase + string.digits, k=10 - len(prefix)))


def route(symbol: str) -> str:
    return f"/v1/prices/{symbol}"


def answer_ok(upstream, symbol: str, **over: Any) -> None:
    upstream.program("GET", route(symbol), status=200, json={**PRICE, **over})


def answer_fail(upstream, symbol: str, status: int = 500) -> None:
    upstream.program("GET", route(symbol), status=status, json={"error": "down"})


def quote(client, symbol: str, expect: int) -> Any:
    r = client.get(f"/v1/quotes/{symbol}")
    assert r.status_code == expect, (symbol, r.status_code, r.text)
    return r


def quotes(client, symbol: str, expect: int, count: int) -> None:
    for _ in range(count):
        quote(client, symbol, expect)


def calls_of(peers, symbol: str) -> list:
    return [c for c in peers.upstream.calls() if c.path == route(symbol)]


def rate(client, symbol: str) -> dict[str, Any]:
    r = client.get(f"/v1/error-rates/{symbol}")
    assert r.status_code == 200, r.text
    return r.json()


def listed(client, symbol: str) -> dict[str, Any] | None:
    """The symbol's entry of GET /v1/alerts, or None."""
    r = client.get("/v1/alerts")
    assert r.status_code == 200, r.text
    found = [a for a in r.json()["alerts"] if a["symbol"] == symbol]
    assert len(found) <= 1, found
    return found[0] if found else None


def _payload(record) -> Any:
    try:
        return record.json()
    except ValueError:
        return None


def notifications(peers, symbol: str) -> list:
    """The sink's records of notifications about `symbol`, oldest first."""
    found = []
    for record in peers.sink.requests():
        payload = _payload(record)
        if isinstance(payload, dict) and payload.get("symbol") == symbol:
            found.append(record)
    return found


def wait_notifications(peers, symbol: str, count: int, timeout: float) -> list:
    """The symbol's first `count` notifications once that many arrived; fails after `timeout`."""
    end = time.monotonic() + timeout
    while True:
        found = notifications(peers, symbol)
        if len(found) >= count:
            return found
        if time.monotonic() > end:
            pytest.fail(f"{len(found)} notifications for {symbol} after {timeout:.1f} s, {count} expected: "
                        + "; ".join(r.text[:200] for r in found))  # fmt: skip
        time.sleep(0.05)


def statuses(records: list) -> list[str]:
    return [r.json()["status"] for r in records]


def check_notification(record, secret: str) -> dict[str, Any]:
    """The notification's body once its route, type, signature and secrecy are checked."""
    assert (record.method, record.path) == ("POST", "/hooks/alerts"), (record.method, record.path)
    assert (record.header("Content-Type") or "").startswith("application/json")
    expected = hmac.new(secret.encode(), record.body, hashlib.sha256).hexdigest()
    assert record.header("X-Signature") == f"sha256={expected}", record.header("X-Signature")
    for name, value in record.headers:
        assert secret not in value, f"the header {name} carries APP_SECRET"
    assert secret.encode() not in record.body, "the body carries APP_SECRET"
    body = json.loads(record.body)
    assert set(body) == {"status", "alertname", "symbol", "starts_at", "ends_at", "requests",
                         "failures"}, body  # fmt: skip
    assert body["alertname"] == ALERT
    return body


def moment(text: str) -> float:
    """An RFC 3339 time in UTC, as seconds since the epoch."""
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0, text
    return stamp.timestamp()


def sleep_until(deadline: float) -> None:
    time.sleep(max(0.0, deadline - time.monotonic()))


@pytest.fixture
def upstream(peers):
    """The upstream, forgotten before and after the test (an unprogrammed route answers 404)."""
    peers.upstream.reset()
    yield peers.upstream
    peers.upstream.reset()
