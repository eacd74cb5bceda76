"""Authentication: storing a batch needs the bearer token; nothing else does."""

from __future__ import annotations

import pytest
from readings_api import (
    active_sensor,
    assert_error,
    figures,
    future_instant,
    post_batch,
    reading,
    readings_at,
    stored,
)


@pytest.mark.rules("writes-need-token", "error-401", "rejected-changes-nothing")
def test_a_batch_without_a_valid_token_is_401_and_stores_nothing(client_factory, app_secret, db):
    sensor = active_sensor(db)
    at = future_instant()
    before = figures(db, sensor)
    for header in (
        None, "", f"Bearer {app_secret}x", f"Bearer x{app_secret}", "Bearer", f"Bearer {app_secret[:-1]}",
        f"Basic {app_secret}", app_secret, f"Token {app_secret}",
    ):  # fmt: skip
        headers = {} if header is None else {"Authorization": header}
        with client_factory(headers=headers) as client:
            for readings in ([reading(sensor, at, 1.0)], [{"sensor_id": "x"}]):
                assert_error(post_batch(client, readings), 401, "unauthorized")
    assert readings_at(db, [at]) == 0
    assert figures(db, sensor) == before


@pytest.mark.rules("bearer-case-insensitive")
def test_the_bearer_scheme_word_is_case_insensitive(client_factory, app_secret, db):
    sensor = active_sensor(db)
    for scheme in ("bearer", "BEARER"):
        at = future_instant()
        with client_factory(headers={"Authorization": f"{scheme} {app_secret}"}) as client:
            response = post_batch(client, [reading(sensor, at, 2.0)])
        assert response.status_code == 200, response.text
        assert stored(db, sensor, at)["id"] == response.json()["ids"][0]
