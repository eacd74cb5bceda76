"""Sensor readings: reading and writing the sensors and readings tables."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, NamedTuple

from psycopg import Connection
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

Row = dict[str, Any]
MAX_ID = 2**63 - 1

pool: ConnectionPool[Connection[Row]] = ConnectionPool(
    os.environ.get("DATABASE_URL", ""),
    min_size=2,
    max_size=10,
    open=False,
    kwargs={"row_factory": dict_row},
)

SENSOR_COLUMNS = (
    "id, name, kind, unit, status, reading_count, last_reading_at, last_value"
)
READING_COLUMNS = "id, sensor_id, recorded_at, value, gateway"


class Reading(NamedTuple):
    """One reading of a batch, validated."""

    sensor_id: int
    recorded_at: datetime
    value: float


class UnknownSensor(Exception):
    """A reading of a batch names no sensor, or a retired one."""

    def __init__(self, index: int, sensor_id: int) -> None:
        super().__init__(f"readings.{index}: sensor {sensor_id}")
        self.index = index
        self.sensor_id = sensor_id


def open_pool() -> None:
    pool.open(wait=True, timeout=30)


def close_pool() -> None:
    pool.close()


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def sensor(row: Row) -> Row:
    """A sensor row as the API shows it."""
    return {**row, "last_reading_at": iso(row["last_reading_at"])}


def reading(row: Row) -> Row:
    """A reading row as the API shows it."""
    return {**row, "recorded_at": iso(row["recorded_at"])}


def get_sensor(sensor_id: int) -> Row | None:
    """One sensor with its figures, or None."""
    with pool.connection() as conn:
        row = conn.execute(
            f"SELECT {SENSOR_COLUMNS} FROM sensors WHERE id = %s", (sensor_id,)
        ).fetchone()
    return None if row is None else sensor(row)


def list_readings(sensor_id: int, limit: int, offset: int) -> tuple[int, list[Row]] | None:
    """The number of a sensor's readings and one page of them, latest first; None when there
    is no such sensor."""
    with pool.connection() as conn:
        if conn.execute("SELECT 1 FROM sensors WHERE id = %s", (sensor_id,)).fetchone() is None:
            return None
        counted = conn.execute(
            "SELECT count(*) AS total FROM readings WHERE sensor_id = %s", (sensor_id,)
        ).fetchone()
        rows = conn.execute(
            f"SELECT {READING_COLUMNS} FROM readings WHERE sensor_id = %s "
            "ORDER BY recorded_at DESC LIMIT %s OFFSET %s",
            (sensor_id, limit, offset),
        ).fetchall()
    assert counted is not None
    return counted["total"], [reading(r) for r in rows]


# one lookup for the whole batch: its sensors, locked in id order so that batches sharing
# sensors wait for each other instead of deadlocking, and so that each batch's figures are
# computed from the figures the previous one left
LOCK_SENSORS = """
SELECT id FROM sensors WHERE id = ANY(%s::bigint[]) AND status = 'active' ORDER BY id FOR UPDATE
"""
# every distinct reading in one statement; a reading already stored at that instant takes the
# new value and gateway and keeps its id
UPSERT = """
INSERT INTO readings (sensor_id, recorded_at, value, gateway)
SELECT sensor_id, recorded_at, value, %s
FROM unnest(%s::integer[], %s::timestamptz[], %s::double precision[])
     AS batch (sensor_id, recorded_at, value)
ON CONFLICT (sensor_id, recorded_at) DO UPDATE SET value = EXCLUDED.value, gateway = EXCLUDED.gateway
RETURNING id, sensor_id, recorded_at, (xmax = 0) AS inserted
"""
# each sensor's figures in one statement: the count grows by the readings new to it, and the
# latest reading moves only when the batch holds one at or after it
FIGURES = """
UPDATE sensors AS s
SET reading_count = s.reading_count + f.added,
    last_value = CASE WHEN s.last_reading_at IS NULL OR f.latest >= s.last_reading_at
                      THEN f.latest_value ELSE s.last_value END,
    last_reading_at = GREATEST(s.last_reading_at, f.latest)
FROM unnest(%s::integer[], %s::integer[], %s::timestamptz[], %s::double precision[])
     AS f (sensor_id, added, latest, latest_value)
WHERE s.id = f.sensor_id
"""

Key = tuple[int, datetime]


def distinct(readings: list[Reading]) -> tuple[dict[Key, Reading], list[Key]]:
    """The batch's distinct readings (the same sensor and instant: the later one wins) and the
    key of each position. Aware datetimes compare as instants, whatever their offsets."""
    latest: dict[Key, Reading] = {}
    keys = []
    for item in readings:
        key = (item.sensor_id, item.recorded_at)
        latest[key] = item
        keys.append(key)
    return latest, keys


def figures(stored: dict[Key, Reading], added: set[Key]) -> list[list[Any]]:
    """Per sensor: readings new to it, and the batch's latest reading and its value."""
    per_sensor: dict[int, list[Any]] = {}
    for (sensor_id, at), item in stored.items():
        entry = per_sensor.setdefault(sensor_id, [sensor_id, 0, at, item.value])
        entry[1] += (sensor_id, at) in added
        if at > entry[2]:
            entry[2], entry[3] = at, item.value
    return list(per_sensor.values())


def store_batch(gateway: str, readings: list[Reading]) -> list[int]:
    """Store a batch in one transaction: one lookup of its sensors, one statement for its
    readings, one for its sensors' figures. The stored readings' ids, in the batch's order."""
    for index, item in enumerate(readings):
        if not 1 <= item.sensor_id <= MAX_ID:
            raise UnknownSensor(index, item.sensor_id)
    stored, keys = distinct(readings)
    sensor_ids = sorted({item.sensor_id for item in readings})
    with pool.connection() as conn, conn.transaction():
        found = {row["id"] for row in conn.execute(LOCK_SENSORS, (sensor_ids,)).fetchall()}
        for index, item in enumerate(readings):
            if item.sensor_id not in found:
                raise UnknownSensor(index, item.sensor_id)
        columns = list(zip(*[(s, at, r.value) for (s, at), r in stored.items()], strict=True))
        rows = conn.execute(UPSERT, (gateway, *map(list, columns))).fetchall()
        # RETURNING promises no order: each id is matched to its reading by sensor and instant
        ids = {(row["sensor_id"], row["recorded_at"]): row["id"] for row in rows}
        added = {(row["sensor_id"], row["recorded_at"]) for row in rows if row["inserted"]}
        per_sensor = figures(stored, added)
        conn.execute(FIGURES, [list(c) for c in zip(*per_sensor, strict=True)])
    return [int(ids[key]) for key in keys]
