"""Each sensor's figures (reading_count, last_reading_at, last_value) after batches."""

from __future__ import annotations

import os
import threading
import time

import psycopg
import pytest
from readings_api import (
    WITHOUT_READINGS,
    active_sensor,
    after_latest,
    assert_figures_true,
    figures,
    future_instant,
    parse_time,
    past_instant,
    post_batch,
    reading,
)


@pytest.mark.rules("figures", "get-sensor")
def test_a_batch_moves_each_sensors_count_and_latest_reading(api, authed_api, db):
    a = active_sensor(db)
    b = active_sensor(db, exclude=(a,))
    count_a, count_b = figures(db, a)[0], figures(db, b)[0]
    a1, a2 = after_latest(db, a), after_latest(db, a)
    latest_a, earlier_a = max(a1, a2), min(a1, a2)
    b1 = after_latest(db, b)
    # the latest reading of a comes first in the batch: the last one in the batch is not it
    readings = [reading(a, latest_a, 7.25), reading(b, b1, -3.0), reading(a, earlier_a, 8.5)]
    response = post_batch(authed_api, readings)
    assert response.status_code == 200, response.text
    assert figures(db, a) == (count_a + 2, latest_a, 7.25)
    assert figures(db, b) == (count_b + 1, b1, -3.0)
    shown = api.get(f"/v1/sensors/{a}").json()
    assert (shown["reading_count"], shown["last_value"]) == (count_a + 2, 7.25)
    assert parse_time(shown["last_reading_at"]) == latest_a
    assert_figures_true(db, a, b)


@pytest.mark.rules("figures", "figures-null")
def test_the_first_readings_of_a_sensor_without_any_set_its_figures(api, authed_api, db):
    sensor = active_sensor(db, WITHOUT_READINGS)
    before = api.get(f"/v1/sensors/{sensor}").json()
    assert (before["reading_count"], before["last_reading_at"], before["last_value"]) == (
        0, None, None,
    )  # fmt: skip
    one, two = future_instant(), future_instant()
    response = post_batch(authed_api, [reading(sensor, one, 1.0), reading(sensor, two, 2.0)])
    assert response.status_code == 200, response.text
    latest, value = (one, 1.0) if one > two else (two, 2.0)
    assert figures(db, sensor) == (2, latest, value)
    assert_figures_true(db, sensor)


@pytest.mark.rules("figures-late")
def test_a_late_upload_counts_but_leaves_the_latest_reading_alone(authed_api, db):
    sensor = active_sensor(db)
    count, last, value = figures(db, sensor)
    late = [past_instant(db, sensor) for _ in range(4)]
    response = post_batch(authed_api, [reading(sensor, at, 99.0 + i) for i, at in enumerate(late)])
    assert response.status_code == 200, response.text
    assert figures(db, sensor) == (count + 4, last, value)
    assert_figures_true(db, sensor)


@pytest.mark.rules("figures-replace", "replace-stored")
def test_replacing_the_latest_reading_changes_last_value_only(authed_api, db):
    sensor = active_sensor(db)
    at = after_latest(db, sensor)
    assert post_batch(authed_api, [reading(sensor, at, 1.0)]).status_code == 200
    count = figures(db, sensor)[0]
    response = post_batch(authed_api, [reading(sensor, at, 2.0)])
    assert response.status_code == 200, response.text
    assert figures(db, sensor) == (count, at, 2.0)
    older = past_instant(db, sensor)
    assert post_batch(authed_api, [reading(sensor, older, 3.0)]).status_code == 200
    response = post_batch(authed_api, [reading(sensor, older, 4.0)])
    assert response.status_code == 200, response.text
    assert figures(db, sensor) == (count + 1, at, 2.0)
    assert_figures_true(db, sensor)


def waiting_backends(db) -> int:
    """Backends waiting for a lock (pg_locks is read afresh on every call)."""
    return int(db.scalar("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted"))


@pytest.mark.rules("figures-concurrent", "figures")
def test_concurrent_batches_for_one_sensor_all_count(client_factory, auth_headers, db):
    """The test holds the sensor's row lock until both batches wait on it (or 5 s pass), so
    each has read whatever it reads before either writes: lost updates show every time."""
    sensor = active_sensor(db)
    count = figures(db, sensor)[0]
    batches = [[reading(sensor, after_latest(db, sensor), float(10 * b + i)) for i in range(20)]
               for b in range(2)]  # fmt: skip
    answers: list = [None, None]

    def send(n: int) -> None:
        with client_factory(headers=auth_headers, deadline=30) as client:
            answers[n] = post_batch(client, batches[n], f"gw-race-{n}")

    lock = psycopg.connect(os.environ["BACKBENCH_ADMIN_DATABASE_URL"], connect_timeout=10)
    try:
        lock.execute("SELECT 1 FROM sensors WHERE id = %s FOR UPDATE", (sensor,))
        threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 5
        while waiting_backends(db) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        lock.commit()
        for t in threads:
            t.join(timeout=30)
    finally:
        lock.close()
    for answer in answers:
        assert answer is not None and answer.status_code == 200, answer and answer.text
    every = [r for b in batches for r in b]
    latest = max(every, key=lambda r: parse_time(r["recorded_at"]))
    assert figures(db, sensor) == (
        count + 40, parse_time(latest["recorded_at"]), latest["value"],
    )  # fmt: skip
    assert_figures_true(db, sensor)
