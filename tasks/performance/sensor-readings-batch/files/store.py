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


def check_sensor(conn: Connection[Row], index: int, sensor_id: int) -> None:
    """The reading's sensor exists and is active, else the batch is refused."""
    if not 1 <= sensor_id <= MAX_ID:
        raise UnknownSensor(index, sensor_id)
    row = conn.execute("SELECT status FROM sensors WHERE id = %s", (sensor_id,)).fetchone()
    if row is None or row["status"] != "active":
        raise UnknownSensor(index, sensor_id)


def store_reading(conn: Connection[Row], gateway: str, item: Reading) -> int:
    """Store one reading (replacing the sensor's reading at the same instant) and keep its
    sensor's figures; the stored reading's id."""
    row = conn.execute(
        "INSERT INTO readings (sensor_id, recorded_at, value, gateway) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (sensor_id, recorded_at) "
        "DO UPDATE SET value = EXCLUDED.value, gateway = EXCLUDED.gateway "
        "RETURNING id, (xmax = 0) AS inserted",
        (item.sensor_id, item.recorded_at, item.value, gateway),
    ).fetchone()
    assert row is not None
    conn.execute(
        "UPDATE sensors SET reading_count = reading_count + %(added)s, "
        "last_value = CASE WHEN last_reading_at IS NULL OR %(at)s >= last_reading_at "
        "THEN %(value)s ELSE last_value END, "
        "last_reading_at = GREATEST(last_reading_at, %(at)s) "
        "WHERE id = %(sensor_id)s",
        {
            "added": 1 if row["inserted"] else 0,
            "at": item.recorded_at,
            "value": item.value,
            "sensor_id": item.sensor_id,
        },
    )
    return int(row["id"])


def store_batch(gateway: str, readings: list[Reading]) -> list[int]:
    """Store a batch: every sensor is checked before anything is written, then each reading
    is stored and committed in turn. The stored readings' ids, in the batch's order."""
    with pool.connection() as conn:
        for index, item in enumerate(readings):
            check_sensor(conn, index, item.sensor_id)
        conn.commit()
        ids = []
        for item in readings:
            ids.append(store_reading(conn, gateway, item))
            conn.commit()
    return ids
