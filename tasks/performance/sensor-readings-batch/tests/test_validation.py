"""All or nothing: a batch with anything invalid is a 422 that stores nothing."""

from __future__ import annotations

import pytest
from readings_api import (
    active_sensor,
    assert_error,
    batch,
    future_instant,
    missing_sensor_id,
    post_batch,
    reading,
    readings_at,
    retired_sensor,
    sensor_rows,
    z,
)


def assert_refused_and_nothing_changed(db, response, sensors, instants, rows_before):
    assert_error(response, 422, "validation_error")
    assert readings_at(db, instants) == 0
    assert sensor_rows(db, sensors) == rows_before


@pytest.mark.rules("all-or-nothing", "active-sensor", "error-422")
@pytest.mark.parametrize("kind", ["unknown", "retired", "past-bigint", "zero"])
def test_an_invalid_sensor_late_in_a_batch_stores_nothing(authed_api, db, kind):
    """450 valid readings over several sensors, then one whose sensor takes no readings."""
    sensors = [active_sensor(db) for _ in range(5)]
    instants = [future_instant() for _ in range(460)]
    bad = {
        "unknown": missing_sensor_id(db), "retired": retired_sensor(db),
        "past-bigint": 2**63, "zero": 0,
    }[kind]  # fmt: skip
    readings = [reading(sensors[i % 5], at, float(i)) for i, at in enumerate(instants)]
    readings[450] = reading(bad, instants[450], 1.0)
    rows = sensor_rows(db, sensors)
    response = post_batch(authed_api, readings)
    assert_refused_and_nothing_changed(db, response, sensors, instants, rows)


@pytest.mark.rules("active-sensor", "error-422")
def test_a_reading_of_a_retired_sensor_alone_is_refused(authed_api, db):
    sensor = retired_sensor(db)
    at = future_instant()
    rows = sensor_rows(db, [sensor])
    response = post_batch(authed_api, [reading(sensor, at, 1.0)])
    assert_refused_and_nothing_changed(db, response, [sensor], [at], rows)


GOOD = {"sensor_id": None, "recorded_at": None, "value": 20.5}
INVALID_READINGS = [
    {"sensor_id": 5.0}, {"sensor_id": "SENSOR"}, {"sensor_id": True}, {"sensor_id": None},
    {"sensor_id": -3},
    {"recorded_at": "2026-03-01T12:00:00"}, {"recorded_at": "2026-03-01"},
    {"recorded_at": 1767225600}, {"recorded_at": "1999-12-31T23:59:59Z"},
    {"recorded_at": "2100-01-01T00:00:00Z"}, {"recorded_at": "2026-03-01T12:00:00.1234567Z"},
    {"recorded_at": "yesterday"}, {"recorded_at": "2026-02-30T12:00:00Z"}, {"recorded_at": None},
    {"value": "20.5"}, {"value": True}, {"value": None}, {"value": 1_000_000.5},
    {"value": -1_000_001}, {"value": [1]},
]  # fmt: skip
MISSING = ["sensor_id", "recorded_at", "value"]


@pytest.mark.rules("reading-validation", "all-or-nothing", "error-422")
@pytest.mark.parametrize("fields", INVALID_READINGS, ids=lambda f: repr(f)[:40])
def test_a_batch_with_one_invalid_reading_is_422_and_stores_nothing(authed_api, db, fields):
    sensors = [active_sensor(db) for _ in range(3)]
    instants = [future_instant() for _ in range(30)]
    readings = [reading(sensors[i % 3], at, float(i)) for i, at in enumerate(instants)]
    bad = {**readings[20], **fields}
    if bad["sensor_id"] == "SENSOR":  # the id of a sensor that exists, as a string
        bad["sensor_id"] = str(readings[20]["sensor_id"])
    readings[20] = bad
    rows = sensor_rows(db, sensors)
    response = post_batch(authed_api, readings)
    assert_refused_and_nothing_changed(db, response, sensors, instants, rows)
    for missing in MISSING:
        incomplete = [dict(r) for r in readings]
        incomplete[20] = {k: v for k, v in reading(sensors[2], instants[20], 1.0).items()
                          if k != missing}  # fmt: skip
        response = post_batch(authed_api, incomplete)
        assert_refused_and_nothing_changed(db, response, sensors, instants, rows)


@pytest.mark.rules("batch-limits", "gateway-validation", "all-or-nothing", "error-422")
@pytest.mark.parametrize(
    "body",
    ["no-gateway", "empty-gateway", "long-gateway", "number-gateway", "null-gateway",
     "no-readings", "empty-readings", "501-readings", "readings-object", "reading-not-object",
     "not-an-object"],
)  # fmt: skip
def test_an_invalid_batch_is_422_and_stores_nothing(authed_api, db, body):
    sensor = active_sensor(db)
    instants = [future_instant() for _ in range(501)]
    readings = [reading(sensor, at, 1.0) for at in instants[:3]]
    good = batch(readings, "gw-valid")
    sent = {
        "no-gateway": {"readings": readings},
        "empty-gateway": {**good, "gateway": ""},
        "long-gateway": {**good, "gateway": "g" * 65},
        "number-gateway": {**good, "gateway": 7},
        "null-gateway": {**good, "gateway": None},
        "no-readings": {"gateway": "gw-valid"},
        "empty-readings": {**good, "readings": []},
        "501-readings": {**good, "readings": [reading(sensor, at, 1.0) for at in instants]},
        "readings-object": {**good, "readings": readings[0]},
        "reading-not-object": {**good, "readings": [*readings, [sensor, z(instants[3]), 1.0]]},
        "not-an-object": [good],
    }[body]
    rows = sensor_rows(db, [sensor])
    response = authed_api.post("/v1/readings/batch", json=sent)
    assert_refused_and_nothing_changed(db, response, [sensor], instants, rows)
