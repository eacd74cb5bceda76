"""Reading sensors and their readings."""

from __future__ import annotations

import pytest
from readings_api import (
    READING_FIELDS,
    SENSOR_FIELDS,
    WITHOUT_READINGS,
    active_sensor,
    assert_error,
    missing_sensor_id,
    parse_time,
    retired_sensor,
)


def sensor_row(db, sensor_id):
    row = db.execute(
        "SELECT id, name, kind, unit, status, reading_count, last_reading_at, last_value "
        "FROM sensors WHERE id = %s",
        (sensor_id,),
    ).fetchone()
    return dict(zip(SENSOR_FIELDS, row, strict=True))


def assert_sensor(got, want):
    assert set(got) >= set(SENSOR_FIELDS), got
    for field in SENSOR_FIELDS:
        if field == "last_reading_at" and want[field] is not None:
            assert parse_time(got[field]) == want[field], (got, want)
        else:
            assert got[field] == want[field], (field, got, want)


@pytest.mark.rules("health-ok", "get-sensor", "reads-public")
def test_get_sensor_returns_its_row_with_its_figures(api, db):
    assert api.get("/health").json() == {"status": "ok"}
    for sensor_id in (active_sensor(db), retired_sensor(db), active_sensor(db, WITHOUT_READINGS)):
        response = api.get(f"/v1/sensors/{sensor_id}")
        assert response.status_code == 200, response.text
        assert_sensor(response.json(), sensor_row(db, sensor_id))


@pytest.mark.rules("unknown-sensor-404")
def test_an_id_no_sensor_has_is_404(api, db):
    missing = missing_sensor_id(db)
    assert_error(api.get(f"/v1/sensors/{missing}"), 404, "not_found")
    assert_error(api.get(f"/v1/sensors/{missing}/readings"), 404, "not_found")


def expected_readings(db, sensor_id, limit, offset):
    rows = db.execute(
        "SELECT id, sensor_id, recorded_at, value, gateway FROM readings WHERE sensor_id = %s "
        "ORDER BY recorded_at DESC LIMIT %s OFFSET %s",
        (sensor_id, limit, offset),
    ).fetchall()
    return [dict(zip(READING_FIELDS, row, strict=True)) for row in rows]


@pytest.mark.rules("readings-list", "reading-fields", "reads-public")
def test_readings_list_is_latest_first_with_limit_offset_and_total(api, db):
    sensor_id = active_sensor(db)
    total = int(db.scalar("SELECT count(*) FROM readings WHERE sensor_id = %s", (sensor_id,)))
    first = api.get(f"/v1/sensors/{sensor_id}/readings").json()
    assert (first["total"], first["limit"], first["offset"]) == (total, 100, 0)
    want = expected_readings(db, sensor_id, 100, 0)
    assert [r["id"] for r in first["items"]] == [r["id"] for r in want]
    for got, row in zip(first["items"], want, strict=True):
        assert set(got) >= set(READING_FIELDS), got
        assert (got["id"], got["sensor_id"], got["value"], got["gateway"]) == (
            row["id"], row["sensor_id"], row["value"], row["gateway"],
        )  # fmt: skip
        assert parse_time(got["recorded_at"]) == row["recorded_at"]
    for limit, offset in ((1, 0), (7, 3), (1000, 2), (5, total), (3, 10**20)):
        page = api.get(
            f"/v1/sensors/{sensor_id}/readings", params={"limit": limit, "offset": offset}
        ).json()
        assert (page["total"], page["limit"], page["offset"]) == (total, limit, offset)
        want = expected_readings(db, sensor_id, limit, min(offset, 2**63 - 1))
        assert [r["id"] for r in page["items"]] == [r["id"] for r in want], (limit, offset)


@pytest.mark.rules("readings-list", "error-422")
@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "offset=-1", "limit=x", "offset=1.5"])
def test_readings_list_refuses_an_invalid_limit_or_offset_with_422(api, db, query):
    sensor_id = active_sensor(db)
    assert_error(api.get(f"/v1/sensors/{sensor_id}/readings?{query}"), 422, "validation_error")
