"""The alert rule over the window, its transitions and their notifications."""

from __future__ import annotations

import time

import pytest
from quotes_api import (
    ALERT,
    NOTIFY,
    QUIET,
    answer_fail,
    answer_ok,
    check_notification,
    listed,
    moment,
    new_symbol,
    notifications,
    quote,
    quotes,
    rate,
    route,
    sleep_until,
    statuses,
    upstream,  # noqa: F401 - a fixture
    wait_notifications,
)


def assert_quiet(authed_api, peers, symbol: str) -> None:
    signal = rate(authed_api, symbol)
    assert signal["firing"] is False, signal
    assert listed(authed_api, symbol) is None


@pytest.mark.rules("rule-threshold", "rule-min-requests", "eval-on-request", "signal-fields",
                   "alerts-list")
def test_exactly_20_percent_or_fewer_than_5_requests_never_fire(authed_api, upstream, peers):
    twenty = new_symbol("QZ")  # fires first, listed after the other (ordered by symbol)
    answer_ok(upstream, twenty)
    quotes(authed_api, twenty, 200, 4)
    answer_fail(upstream, twenty)
    quote(authed_api, twenty, 502)
    assert rate(authed_api, twenty) == {"symbol": twenty, "window_seconds": 10, "requests": 5,
                                        "failures": 1, "error_rate": 0.2, "firing": False}  # fmt: skip
    few = new_symbol("QA")
    answer_fail(upstream, few, 503)
    quotes(authed_api, few, 502, 4)
    assert rate(authed_api, few)["error_rate"] == 1 and rate(authed_api, few)["requests"] == 4
    time.sleep(QUIET)
    for symbol in (twenty, few):
        assert_quiet(authed_api, peers, symbol)
        assert notifications(peers, symbol) == []
    # one more request tips each over: 2 failures in 6, and 4 in 5
    quote(authed_api, twenty, 502)
    answer_ok(upstream, few)
    quote(authed_api, few, 200)
    for symbol, counts in ((twenty, (6, 2)), (few, (5, 4))):
        signal = rate(authed_api, symbol)
        assert signal["firing"] is True and (signal["requests"], signal["failures"]) == counts
        assert listed(authed_api, symbol) is not None
    symbols = [a["symbol"] for a in authed_api.get("/v1/alerts").json()["alerts"]]
    assert symbols == sorted(symbols) and symbols.index(few) < symbols.index(twenty), symbols


@pytest.mark.rules("rule-fires", "eval-on-request", "alerts-list", "notify-once", "notify-body",
                   "notify-signature", "notify-no-secret", "time-format")  # fmt: skip
def test_more_than_20_percent_fires_at_once_and_notifies_once_signed(
    authed_api, upstream, peers, app_secret
):
    symbol = new_symbol()
    answer_ok(upstream, symbol)
    quotes(authed_api, symbol, 200, 3)
    answer_fail(upstream, symbol)
    quote(authed_api, symbol, 502)
    upstream.program("GET", route(symbol), drop=True)
    before = time.time()
    quote(authed_api, symbol, 502)
    after = time.time()
    alert = listed(authed_api, symbol)  # evaluated before the 5th answer: listed at once
    assert alert is not None and set(alert) == {"alertname", "symbol", "status", "starts_at"}
    assert (alert["alertname"], alert["status"]) == (ALERT, "firing")
    assert before - 1 <= moment(alert["starts_at"]) <= after + 1
    signal = rate(authed_api, symbol)
    assert signal["firing"] is True and signal["error_rate"] == 0.4
    (record,) = wait_notifications(peers, symbol, 1, NOTIFY)
    body = check_notification(record, app_secret)
    assert body == {"status": "firing", "alertname": ALERT, "symbol": symbol,
                    "starts_at": alert["starts_at"], "ends_at": None, "requests": 5,
                    "failures": 2}  # fmt: skip
    # still firing: more failures notify nothing more
    answer_fail(upstream, symbol)
    quotes(authed_api, symbol, 502, 2)
    time.sleep(QUIET)
    assert len(notifications(peers, symbol)) == 1
    assert listed(authed_api, symbol)["starts_at"] == alert["starts_at"]


@pytest.mark.rules("upstream-timeout", "count-failure", "rule-fires")
def test_timeouts_count_toward_the_alert(authed_api, upstream, peers, app_secret):
    symbol = new_symbol()
    answer_ok(upstream, symbol)
    quotes(authed_api, symbol, 200, 3)
    upstream.program("GET", route(symbol), json={"price": 1, "currency": "USD"}, delay_ms=2500)
    quotes(authed_api, symbol, 504, 2)
    assert listed(authed_api, symbol) is not None
    (record,) = wait_notifications(peers, symbol, 1, NOTIFY)
    body = check_notification(record, app_secret)
    assert (body["status"], body["requests"], body["failures"]) == ("firing", 5, 2)


@pytest.mark.rules("count-success", "not-counted", "rule-threshold")
def test_client_errors_and_unknown_symbols_never_count_as_failures(
    authed_api, api, upstream, peers
):
    symbol = new_symbol()
    upstream.program("GET", route(symbol), status=404, json={"error": "unknown"})
    quotes(authed_api, symbol, 404, 8)
    answer_fail(upstream, symbol, 502)
    quotes(authed_api, symbol, 502, 2)
    for _ in range(5):  # refused before any call
        assert api.get(f"/v1/quotes/{symbol}").status_code == 401
        assert authed_api.get(f"/v1/quotes/{symbol.lower()}").status_code == 422
    assert rate(authed_api, symbol) == {"symbol": symbol, "window_seconds": 10, "requests": 10,
                                        "failures": 2, "error_rate": 0.2, "firing": False}  # fmt: skip
    time.sleep(QUIET)
    assert_quiet(authed_api, peers, symbol)
    assert notifications(peers, symbol) == []
    answer_fail(upstream, symbol, 500)
    quote(authed_api, symbol, 502)  # 3 in 11
    assert listed(authed_api, symbol) is not None


@pytest.mark.rules("rule-resolves", "transition", "notify-once", "notify-body",
                   "notify-signature", "new-alert")  # fmt: skip
def test_successes_resolve_the_alert_and_a_new_firing_is_a_new_alert(
    authed_api, upstream, peers, app_secret
):
    symbol = new_symbol()
    answer_fail(upstream, symbol)
    quotes(authed_api, symbol, 502, 5)
    first = listed(authed_api, symbol)
    assert first is not None
    answer_ok(upstream, symbol)
    quotes(authed_api, symbol, 200, 19)  # 5 failures in 24: still over 20 %
    assert listed(authed_api, symbol) == first
    before = time.time()
    quote(authed_api, symbol, 200)  # 5 in 25: exactly 20 %, resolved
    after = time.time()
    assert listed(authed_api, symbol) is None
    assert rate(authed_api, symbol)["firing"] is False
    records = wait_notifications(peers, symbol, 2, NOTIFY)
    assert statuses(records) == ["firing", "resolved"]
    resolved = check_notification(records[1], app_secret)
    assert resolved["starts_at"] == first["starts_at"]
    assert (resolved["requests"], resolved["failures"]) == (25, 5)
    assert before - 1 <= moment(resolved["ends_at"]) <= after + 1
    assert moment(resolved["ends_at"]) >= moment(resolved["starts_at"])
    # one more failure: 6 in 26, a new alert with a new start
    answer_fail(upstream, symbol)
    quote(authed_api, symbol, 502)
    second = listed(authed_api, symbol)
    assert second is not None and moment(second["starts_at"]) >= moment(resolved["ends_at"])
    records = wait_notifications(peers, symbol, 3, NOTIFY)
    again = check_notification(records[2], app_secret)
    assert (again["status"], again["starts_at"], again["ends_at"]) == (
        "firing", second["starts_at"], None)  # fmt: skip
    assert (again["requests"], again["failures"]) == (26, 6)
    time.sleep(QUIET)
    assert statuses(notifications(peers, symbol)) == ["firing", "resolved", "firing"]


@pytest.mark.rules("window", "eval-periodic", "rule-fires", "rule-resolves", "transition",
                   "notify-once", "notify-body")  # fmt: skip
def test_the_window_slides_and_alerts_fire_and_resolve_without_requests(
    authed_api, upstream, peers, app_secret
):
    symbol = new_symbol()
    answer_ok(upstream, symbol)
    start = time.monotonic()
    quotes(authed_api, symbol, 200, 20)
    oks_sent = time.monotonic()
    sleep_until(start + 4)
    answer_fail(upstream, symbol)
    fails_start = time.monotonic()
    quotes(authed_api, symbol, 502, 5)
    fails_sent = time.monotonic()
    signal = rate(authed_api, symbol)
    assert (signal["requests"], signal["failures"], signal["firing"]) == (25, 5, False)
    # no request has left the window yet: still 5 in 25
    sleep_until(start + 8.5)
    assert_quiet(authed_api, peers, symbol)
    # the 20 successes leave 10 s after they were counted: the rule holds with no request
    fired = wait_notifications(peers, symbol, 1, oks_sent + 10 + EVALUATE_MARGIN - time.monotonic())
    body = check_notification(fired[0], app_secret)
    assert body["status"] == "firing" and body["failures"] == 5, body
    assert 5 <= body["requests"] < 25, body
    assert time.monotonic() < fails_start + 9.5, "the failures must still be in the window"
    assert listed(authed_api, symbol)["starts_at"] == body["starts_at"]
    # the failures stay 10 s: firing until then, resolved once they left
    sleep_until(fails_start + 9)
    assert listed(authed_api, symbol) is not None
    records = wait_notifications(peers, symbol, 2,
                                 fails_sent + 10 + EVALUATE_MARGIN - time.monotonic())  # fmt: skip
    resolved = check_notification(records[1], app_secret)
    assert resolved["status"] == "resolved" and resolved["starts_at"] == body["starts_at"]
    assert resolved["requests"] < 5 or resolved["failures"] * 5 <= resolved["requests"], resolved
    assert listed(authed_api, symbol) is None
    assert rate(authed_api, symbol)["requests"] == 0
    time.sleep(QUIET)
    assert statuses(notifications(peers, symbol)) == ["firing", "resolved"]


EVALUATE_MARGIN = 0.5 + 1 + 1.5  # stated evaluation period and notification delay, with room


@pytest.mark.rules("notify-not-retried", "notify-once")
def test_a_notification_the_sink_refuses_is_not_sent_again(authed_api, upstream, peers):
    symbol = new_symbol()
    peers.sink.respond_with(500, json={"error": "down"})
    try:
        answer_fail(upstream, symbol)
        quotes(authed_api, symbol, 502, 5)
        wait_notifications(peers, symbol, 1, NOTIFY)
        time.sleep(QUIET + 1)
        assert statuses(notifications(peers, symbol)) == ["firing"]
        assert listed(authed_api, symbol) is not None
        assert rate(authed_api, symbol)["firing"] is True
    finally:
        peers.sink.reset()
