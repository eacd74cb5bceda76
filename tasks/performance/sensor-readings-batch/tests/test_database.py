"""The database: its tables stay as given, and the seeded rows stay there."""

from __future__ import annotations

import pytest

TABLES = {
    "sensors": {
        "id": "integer", "name": "text", "kind": "text", "unit": "text", "status": "text",
        "reading_count": "integer", "last_reading_at": "timestamp with time zone",
        "last_value": "double precision",
    },
    "readings": {
        "id": "bigint", "sensor_id": "integer", "recorded_at": "timestamp with time zone",
        "value": "double precision", "gateway": "text",
    },
}  # fmt: skip


@pytest.mark.rules("schema-unchanged")
def test_the_tables_and_their_columns_are_unchanged(db):
    assert db.tables() == sorted(TABLES)
    for table, columns in TABLES.items():
        assert db.columns(table) == columns, table
    views = db.scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('v', 'm')"
    )
    assert views == 0
    triggers = db.scalar(
        "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relname IN ('sensors', 'readings') AND NOT t.tgisinternal"
    )
    assert triggers == 0


# what seed.py loads: digests of the columns no test writes, over every seeded row
SEEDED_SENSORS = "fb6ff3d2e9763c862fe7770fc74b634c"
SEEDED_READINGS = (196_000, "7bb7f3cabed121489e0e0700605d5ccd")


@pytest.mark.rules("data-kept")
def test_the_seeded_sensors_and_readings_are_still_there(db):
    assert db.scalar("SELECT count(*) FROM sensors") == 2000
    sensors = db.scalar(
        "SELECT md5(string_agg(concat_ws('|', id, name, kind, unit, status), ',' ORDER BY id)) "
        "FROM sensors"
    )
    assert sensors == SEEDED_SENSORS
    last, digest = SEEDED_READINGS
    readings = db.scalar(
        "SELECT md5(string_agg(concat_ws('|', id, sensor_id, "
        "extract(epoch FROM recorded_at)::bigint, value), ',' ORDER BY id)) "
        "FROM readings WHERE id <= %s",
        (last,),
    )
    assert readings == digest
