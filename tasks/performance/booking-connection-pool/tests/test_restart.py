"""A PostgreSQL restart: the service replaces the connections it broke, and answers as before.

In a module of its own, run after the others: a service that keeps broken connections fails
here, not in every test that happens to come after a restart."""

from __future__ import annotations

import time

import pytest
from booking_api import LIMIT, burst


@pytest.mark.rules("db-restart")
def test_the_service_answers_again_after_the_database_restarts(api, client_factory, services):
    paths = [("GET", f"/v1/rooms/{1 + i}", None) for i in range(LIMIT + 2)]
    assert [r.status_code for r in burst(client_factory, None, paths)] == [200] * len(paths)
    services.restart("postgres")
    time.sleep(0.5)
    statuses = []
    for i in range(3 * LIMIT):
        response = api.get(f"/v1/rooms/{1 + i}", extensions={"deadline": 8})
        statuses.append(response.status_code)
    assert statuses == [200] * len(statuses), statuses
    window = {"from": "2026-03-02T00:00:00Z", "to": "2026-03-09T00:00:00Z"}
    answers = burst(client_factory, None, [("GET", "/v1/rooms/42/bookings?from={}&to={}".format(
        window["from"], window["to"]), None)] * (LIMIT + 2))
    assert [r.status_code for r in answers] == [200] * (LIMIT + 2)
