"""The quotes API: credentials, symbols, the upstream call and how each outcome is answered and
counted in the symbol's window."""

from __future__ import annotations

import time

import httpx
import pytest
from quotes_api import (
    answer_fail,
    answer_ok,
    calls_of,
    new_symbol,
    quote,
    rate,
    route,
    upstream,  # noqa: F401 - a fixture
)


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text


@pytest.mark.rules("health", "auth", "auth-first", "bearer-case", "error-body")
def test_health_is_public_and_every_v1_endpoint_needs_the_bearer_secret(
    api, app_secret, upstream, peers
):
    r = api.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    symbol = new_symbol()
    answer_ok(upstream, symbol)
    wrong = [None, "Bearer wrong", f"Basic {app_secret}", f"Bearer {app_secret}x",
             f"Bearer {app_secret[:-1]}", app_secret, f"Bearer  {app_secret}"]  # fmt: skip
    for path in (f"/v1/quotes/{symbol}", f"/v1/error-rates/{symbol}", "/v1/alerts",
                 "/v1/quotes/not-a-symbol", "/v1/error-rates/not-a-symbol"):  # fmt: skip
        for header in wrong:
            headers = {"Authorization": header} if header else {}
            assert_error(api.get(path, headers=headers), 401, "unauthorized")
    assert calls_of(peers, symbol) == []
    for scheme in ("bearer", "BEARER", "Bearer"):
        r = api.get(f"/v1/error-rates/{symbol}", headers={"Authorization": f"{scheme} {app_secret}"})
        assert r.status_code == 200, (scheme, r.text)
        assert (r.json()["requests"], r.json()["failures"]) == (0, 0)
    r = api.get(f"/v1/quotes/{symbol}", headers={"Authorization": f"bearer {app_secret}"})
    assert r.status_code == 200, r.text


@pytest.mark.rules("quote-call", "quote-200", "one-call", "signal-fields", "count-success")
def test_a_quote_is_answered_from_one_upstream_call(authed_api, upstream, peers):
    symbol = new_symbol()
    before = rate(authed_api, symbol)
    assert before == {"symbol": symbol, "window_seconds": 10, "requests": 0, "failures": 0,
                      "error_rate": 0, "firing": False}  # fmt: skip
    assert type(before["window_seconds"]) is int and type(before["requests"]) is int
    answer_ok(upstream, symbol, price=17, currency="EUR")
    r = quote(authed_api, symbol, 200)
    assert r.json() == {"symbol": symbol, "price": 17, "currency": "EUR"}
    answer_ok(upstream, symbol)
    assert quote(authed_api, symbol, 200).json() == {"symbol": symbol, "price": 101.25,
                                                     "currency": "USD"}  # fmt: skip
    calls = calls_of(peers, symbol)
    assert [(c.method, c.path, c.outcome) for c in calls] == [("GET", route(symbol), 200)] * 2
    assert rate(authed_api, symbol) == {"symbol": symbol, "window_seconds": 10, "requests": 2,
                                        "failures": 0, "error_rate": 0, "firing": False}  # fmt: skip


FAILURES = [
    pytest.param({"status": 500}, id="500"),
    pytest.param({"status": 429}, id="429"),
    pytest.param({"status": 400}, id="400"),
    pytest.param({"status": 201, "json": {"price": 1.5, "currency": "USD"}}, id="201"),
    pytest.param({"status": 200, "fail_times": 1, "fail_status": 503}, id="503-once"),
    pytest.param({"status": 200, "drop": True}, id="dropped"),
    pytest.param({"status": 200, "json": {"price": "1.5", "currency": "USD"}}, id="price-string"),
    pytest.param({"status": 200, "json": {"price": True, "currency": "USD"}}, id="price-bool"),
    pytest.param({"status": 200, "json": {"price": 1.5}}, id="no-currency"),
    pytest.param({"status": 200, "json": [1.5, "USD"]}, id="array"),
    pytest.param({"status": 200, "json": None}, id="null"),
]


@pytest.mark.rules("upstream-502", "one-call", "count-failure", "signal-fields")
@pytest.mark.parametrize("program", FAILURES)
def test_an_upstream_failure_is_502_once_and_counts_as_failed(authed_api, upstream, peers, program):
    symbol = new_symbol()
    upstream.program("GET", route(symbol), **program)
    assert_error(authed_api.get(f"/v1/quotes/{symbol}"), 502, "upstream_error")
    assert len(calls_of(peers, symbol)) == 1  # never retried
    signal = rate(authed_api, symbol)
    assert (signal["requests"], signal["failures"], signal["error_rate"]) == (1, 1, 1)


@pytest.mark.rules("upstream-404", "count-success")
def test_an_unknown_symbol_is_404_and_counts_as_succeeded(authed_api, upstream, peers):
    symbol = new_symbol()  # an unprogrammed route: the upstream answers 404
    assert_error(authed_api.get(f"/v1/quotes/{symbol}"), 404, "unknown_symbol")
    assert [c.outcome for c in calls_of(peers, symbol)] == [404]
    signal = rate(authed_api, symbol)
    assert (signal["requests"], signal["failures"], signal["error_rate"]) == (1, 0, 0)


@pytest.mark.rules("upstream-timeout", "count-failure", "one-call")
def test_no_answer_within_a_second_is_504_and_counts_as_failed(authed_api, upstream, peers):
    symbol = new_symbol()
    upstream.program("GET", route(symbol), json={"price": 3, "currency": "USD"}, delay_ms=4000)
    started = time.monotonic()
    assert_error(authed_api.get(f"/v1/quotes/{symbol}"), 504, "upstream_timeout")
    assert time.monotonic() - started < 1.8  # abandoned 1 s after the call was sent
    assert len(calls_of(peers, symbol)) == 1
    signal = rate(authed_api, symbol)
    assert (signal["requests"], signal["failures"]) == (1, 1)
    # an answer within the second is used
    slow = new_symbol()
    upstream.program("GET", route(slow), json={"price": 4, "currency": "USD"}, delay_ms=600)
    assert quote(authed_api, slow, 200).json()["price"] == 4
    assert (rate(authed_api, slow)["requests"], rate(authed_api, slow)["failures"]) == (1, 0)


BAD_SYMBOLS = ["acme", "Acme", "AC-ME", "AC.ME", "%2E%2E", "%2e%2E", "ABCDEFGHIJK",
               "AC%20ME", "AC%00", "%C3%84CME", "ＡＣＭＥ", "AC_ME"]  # fmt: skip


@pytest.mark.rules("symbol-format", "not-counted", "paths-exact", "method-405")
def test_malformed_symbols_are_422_call_nothing_and_count_nothing(
    authed_api, upstream, peers, base_url, auth_headers
):
    for symbol in BAD_SYMBOLS:
        for path in (f"/v1/quotes/{symbol}", f"/v1/error-rates/{symbol}"):
            assert_error(authed_api.get(path), 422, "validation_error")
    assert peers.upstream.calls() == []
    for good in ("A", "9", "ABCDEFGHIJ", "BRK2"):
        assert rate(authed_api, good)["symbol"] == good
    symbol = new_symbol()
    answer_ok(upstream, symbol)
    for path in (f"/v1/quotes/{symbol}/", f"/v1/quotes/{symbol}/x", "/v1/alerts/", "/v1/quotes/",
                 f"/v1/error-rates/{symbol}/", f"/v1/quote/{symbol}", "/v1/prices"):  # fmt: skip
        assert_error(authed_api.get(path), 404, "not_found")
    assert calls_of(peers, symbol) == []
    assert rate(authed_api, symbol)["requests"] == 0
    # a listed path with another method (not in the document: a plain client)
    with httpx.Client(base_url=base_url, headers=auth_headers, timeout=10, trust_env=False) as raw:
        for method, path in (("POST", f"/v1/quotes/{symbol}"), ("DELETE", "/v1/alerts"),
                             ("PUT", f"/v1/error-rates/{symbol}")):  # fmt: skip
            assert raw.request(method, path).status_code == 405, (method, path)
    assert calls_of(peers, symbol) == []


@pytest.mark.rules("symbol-format", "paths-exact")
def test_the_percent_encoded_dots_never_reach_another_upstream_route(authed_api, upstream, peers):
    upstream.program("*", "/v1", json={"price": 1, "currency": "USD"})
    upstream.program("*", "/v1/prices", json={"price": 1, "currency": "USD"})
    for symbol in ("%2E%2E", "%2E", "..%2F..", "%2E%2E%2F%2E%2E"):
        r = authed_api.get(f"/v1/quotes/{symbol}")
        assert r.status_code in (404, 422), (symbol, r.status_code, r.text)
    assert peers.upstream.calls() == []
