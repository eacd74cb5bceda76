"""Storing a batch: the rows stored, the ids answered, replacements and duplicates."""

from __future__ import annotations

import random
from datetime import timedelta, timezone

import pytest
from readings_api import (
    active_sensor,
    after_latest,
    assert_figures_true,
    figures,
    future_instant,
    post_batch,
    reading,
    reading_by_id,
    stored,
)

PLUS_ONE = timezone(timedelta(hours=1))
MINUS_FIVE_THIRTY = timezone(-timedelta(hours=5, minutes=30))


def max_reading_id(db):
    return int(db.scalar("SELECT max(id) FROM readings"))


@pytest.mark.rules("batch-stored", "batch-answer", "reading-values")
def test_a_batch_stores_every_reading_and_answers_their_ids_in_its_order(authed_api, db, unique):
    sensors = [active_sensor(db) for _ in range(3)]
    instants = [future_instant() for _ in range(12)]
    # neither by sensor nor by time: the answer must follow the batch itself
    readings = [
        reading(sensors[i % 3], at, round(random.uniform(-50, 50), 3))  # noqa: S311
        for i, at in enumerate(instants)
    ]
    before = max_reading_id(db)
    gateway = unique("gw")[:40]
    response = post_batch(authed_api, readings, gateway)
    assert response.status_code == 200, response.text
    ids = response.json()["ids"]
    assert len(ids) == len(readings)
    assert len(set(ids)) == len(ids)
    assert all(i > before for i in ids), (before, ids)
    for reading_id, sent, at in zip(ids, readings, instants, strict=True):
        row = reading_by_id(db, reading_id)
        assert row is not None, reading_id
        assert (row["sensor_id"], row["recorded_at"], row["value"], row["gateway"]) == (
            sent["sensor_id"], at, sent["value"], gateway,
        )  # fmt: skip
    assert_figures_true(db, *set(sensors))


@pytest.mark.rules("batch-answer", "replace-stored", "same-instant")
def test_ids_follow_the_batch_order_across_new_replaced_and_repeated_readings(authed_api, db):
    sensor = active_sensor(db)
    other = active_sensor(db, exclude=(sensor,))
    old_at = future_instant()
    first = post_batch(authed_api, [reading(sensor, old_at, 1.0)])
    assert first.status_code == 200, first.text
    [old_id] = first.json()["ids"]
    late, early = future_instant(), future_instant()
    if late < early:
        late, early = early, late
    readings = [
        reading(other, late, 2.0),  # new
        reading(sensor, old_at.astimezone(PLUS_ONE).isoformat(), 3.0),  # replaces old_id
        reading(sensor, early, 4.0),  # new, and earlier than the first new one
        reading(other, late.astimezone(MINUS_FIVE_THIRTY).isoformat(), 5.0),  # the first again
        reading(sensor, late, 6.0),  # new (another sensor at the same instant)
    ]
    response = post_batch(authed_api, readings)
    assert response.status_code == 200, response.text
    ids = response.json()["ids"]
    assert len(ids) == 5, ids
    assert ids[1] == old_id
    assert ids[3] == ids[0]
    assert len({ids[0], ids[2], ids[4], old_id}) == 4, ids
    assert stored(db, other, late)["id"] == ids[0]
    assert stored(db, sensor, early)["id"] == ids[2]
    assert stored(db, sensor, late)["id"] == ids[4]
    assert stored(db, other, late)["value"] == 5.0
    assert stored(db, sensor, old_at)["value"] == 3.0


@pytest.mark.rules("replace-stored", "reading-values", "figures")
def test_a_reading_at_a_stored_instant_replaces_it_keeping_its_id_and_count(authed_api, db):
    sensor = active_sensor(db)
    at = [after_latest(db, sensor) for _ in range(3)]
    first = post_batch(authed_api, [reading(sensor, t, 10.0 + i) for i, t in enumerate(at)], "gw-a")
    assert first.status_code == 200, first.text
    ids = first.json()["ids"]
    count = figures(db, sensor)[0]
    again = post_batch(
        authed_api,
        [reading(sensor, at[0], 20.5), reading(sensor, at[2].astimezone(PLUS_ONE).isoformat(), -7)],
        "gw-b",
    )
    assert again.status_code == 200, again.text
    assert again.json()["ids"] == [ids[0], ids[2]]
    assert figures(db, sensor)[0] == count
    assert (stored(db, sensor, at[0])["value"], stored(db, sensor, at[0])["gateway"]) == (20.5, "gw-b")
    assert (stored(db, sensor, at[1])["value"], stored(db, sensor, at[1])["gateway"]) == (11.0, "gw-a")
    assert (stored(db, sensor, at[2])["value"], stored(db, sensor, at[2])["gateway"]) == (-7.0, "gw-b")
    assert_figures_true(db, sensor)


@pytest.mark.rules("same-instant", "figures")
def test_readings_of_one_batch_for_the_same_instant_are_one_and_the_later_wins(authed_api, db):
    sensor = active_sensor(db)
    at, other_at = after_latest(db, sensor), future_instant()
    count = figures(db, sensor)[0]
    readings = [
        reading(sensor, at, 1.5),
        reading(sensor, other_at, 9.0),
        reading(sensor, at.astimezone(PLUS_ONE).isoformat(), 2.5),  # the same instant
        reading(sensor, at, 3.5),  # again: the last one wins
    ]
    response = post_batch(authed_api, readings)
    assert response.status_code == 200, response.text
    ids = response.json()["ids"]
    assert ids[0] == ids[2] == ids[3] != ids[1], ids
    row = stored(db, sensor, at)
    assert (row["id"], row["value"]) == (ids[0], 3.5)
    assert figures(db, sensor)[0] == count + 2
    assert int(db.scalar("SELECT count(*) FROM readings WHERE id = ANY(%s)", (ids,))) == 2
    assert_figures_true(db, sensor)


@pytest.mark.rules("batch-limits", "reading-values")
def test_a_batch_of_500_readings_and_the_boundary_values_are_stored(authed_api, db):
    sensors = [active_sensor(db) for _ in range(5)]
    readings = [
        reading(sensors[i % 5], future_instant(), float(i % 7) - 3.25) for i in range(494)
    ]
    edge = sensors[0]
    readings += [
        reading(edge, "2000-01-01T00:00:00Z", -1_000_000),
        reading(edge, "2099-12-31T23:59:59.999999Z", 1_000_000),
        reading(edge, "2000-01-01T05:30:00.5+05:30", 0),
        reading(sensors[1], future_instant(), 42),
        reading(sensors[2], future_instant(), 1e-9),
        reading(sensors[3], future_instant(), -0.125),
    ]
    gateway = "é" * 64
    response = post_batch(authed_api, readings, gateway)
    assert response.status_code == 200, response.text
    ids = response.json()["ids"]
    assert len(ids) == 500 and len(set(ids)) == 500
    for reading_id, sent in list(zip(ids, readings, strict=True))[-6:]:
        row = reading_by_id(db, reading_id)
        assert row["sensor_id"] == sent["sensor_id"]
        assert row["value"] == sent["value"]
        assert row["gateway"] == gateway
    assert reading_by_id(db, ids[-4])["recorded_at"].isoformat() == "2000-01-01T00:00:00.500000+00:00"
    assert_figures_true(db, *sensors)


@pytest.mark.rules("unknown-fields-ignored", "batch-answer")
def test_unknown_fields_of_the_batch_and_its_readings_are_ignored(authed_api, db):
    sensor = active_sensor(db)
    at = future_instant()
    body = {
        "gateway": "gw-extra",
        "readings": [{**reading(sensor, at, 5.5), "id": 1, "gateway": "other", "unit": "kelvin"}],
        "ids": [1],
        "reading_count": 999,
    }
    count = figures(db, sensor)[0]
    response = authed_api.post("/v1/readings/batch", json=body)
    assert response.status_code == 200, response.text
    [reading_id] = response.json()["ids"]
    assert reading_id != 1
    row = stored(db, sensor, at)
    assert (row["id"], row["value"], row["gateway"]) == (reading_id, 5.5, "gw-extra")
    assert figures(db, sensor)[0] == count + 1
