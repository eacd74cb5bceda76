"""Two instances of the service: one window and one alert state per symbol, and each
transition notified once in total."""

from __future__ import annotations

import time

import pytest
from quotes_api import (
    NOTIFY,
    QUIET,
    answer_fail,
    answer_ok,
    check_notification,
    listed,
    new_symbol,
    notifications,
    quote,
    rate,
    statuses,
    upstream,  # noqa: F401 - a fixture
    wait_notifications,
)


@pytest.mark.rules("shared-state", "notify-once", "rule-fires", "rule-resolves")
def test_two_instances_share_the_window_and_notify_each_transition_once(
    server, client_factory, auth_headers, upstream, peers, app_secret
):
    second = server.start_instance()
    first_api = client_factory(headers=auth_headers)
    second_api = client_factory(base_url=second.base_url, headers=auth_headers)
    symbol = new_symbol()
    answer_fail(upstream, symbol)
    for client in (first_api, second_api, first_api, second_api):
        quote(client, symbol, 502)
    for client in (first_api, second_api):
        signal = rate(client, symbol)
        assert (signal["requests"], signal["failures"], signal["firing"]) == (4, 4, False)
    quote(second_api, symbol, 502)  # the fifth, counted by the second instance
    alert = listed(first_api, symbol)
    assert alert is not None and listed(second_api, symbol) == alert
    assert rate(first_api, symbol)["firing"] is True
    answer_ok(upstream, symbol)
    for i in range(20):  # 5 failures in 25: resolved
        quote((first_api, second_api)[i % 2], symbol, 200)
    assert listed(first_api, symbol) is None and listed(second_api, symbol) is None
    records = wait_notifications(peers, symbol, 2, NOTIFY)
    time.sleep(QUIET)
    records = notifications(peers, symbol)
    assert statuses(records) == ["firing", "resolved"]
    fired, resolved = (check_notification(r, app_secret) for r in records)
    assert (fired["requests"], fired["failures"]) == (5, 5)
    assert (resolved["requests"], resolved["failures"]) == (25, 5)
    assert fired["starts_at"] == resolved["starts_at"] == alert["starts_at"]
