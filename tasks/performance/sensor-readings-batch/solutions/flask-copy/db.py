"""The tables: sensors with their figures, and readings stored a batch at a time."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from psycopg import Connection
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

MAX_ID = 2**63 - 1
Row = dict[str, Any]

pool: ConnectionPool[Connection[Row]] = ConnectionPool(
    os.environ.get("DATABASE_URL", ""), min_size=1, max_size=8,
    kwargs={"row_factory": dict_row},
)  # fmt: skip

# a temporary table per connection, emptied at each commit: the batch arrives by COPY
BATCH_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS batch_in (
    ord integer NOT NULL, sensor_id integer NOT NULL,
    recorded_at timestamptz NOT NULL, value double precision NOT NULL
) ON COMMIT DELETE ROWS
"""
# the batch's sensors, locked in id order: batches sharing sensors take turns
LOCK = """
SELECT id FROM sensors WHERE id = ANY(%s::bigint[]) AND status = 'active' ORDER BY id FOR UPDATE
"""
# one statement: the batch's distinct readings (the later one of a sensor and instant wins),
# stored or replacing; each sensor's figures moved; the ids in the batch's order
STORE = """
WITH batch AS (
    SELECT DISTINCT ON (sensor_id, recorded_at) sensor_id, recorded_at, value
    FROM batch_in ORDER BY sensor_id, recorded_at, ord DESC
), stored AS (
    INSERT INTO readings (sensor_id, recorded_at, value, gateway)
    SELECT sensor_id, recorded_at, value, %(gateway)s FROM batch
    ON CONFLICT (sensor_id, recorded_at)
    DO UPDATE SET value = EXCLUDED.value, gateway = EXCLUDED.gateway
    RETURNING id, sensor_id, recorded_at, (xmax = 0) AS inserted
), per_sensor AS (
    SELECT DISTINCT ON (b.sensor_id) b.sensor_id, b.recorded_at AS latest, b.value AS latest_value,
           count(*) FILTER (WHERE s.inserted) OVER (PARTITION BY b.sensor_id) AS added
    FROM batch AS b JOIN stored AS s USING (sensor_id, recorded_at)
    ORDER BY b.sensor_id, b.recorded_at DESC
), moved AS (
    UPDATE sensors AS x
    SET reading_count = x.reading_count + p.added,
        last_value = CASE WHEN x.last_reading_at IS NULL OR p.latest >= x.last_reading_at
                          THEN p.latest_value ELSE x.last_value END,
        last_reading_at = GREATEST(x.last_reading_at, p.latest)
    FROM per_sensor AS p WHERE x.id = p.sensor_id
    RETURNING x.id
)
SELECT s.id FROM batch_in AS b JOIN stored AS s USING (sensor_id, recorded_at) ORDER BY b.ord
"""


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def get_sensor(sensor_id: int) -> Row | None:
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT id, name, kind, unit, status, reading_count, last_reading_at, last_value "
            "FROM sensors WHERE id = %s",
            (sensor_id,),
        ).fetchone()
    return None if row is None else {**row, "last_reading_at": iso(row["last_reading_at"])}


def list_readings(sensor_id: int, limit: int, offset: int) -> tuple[int, list[Row]] | None:
    with pool.connection() as conn:
        sensor = conn.execute(
            "SELECT reading_count FROM sensors WHERE id = %s", (sensor_id,)
        ).fetchone()
        if sensor is None:
            return None
        rows = conn.execute(
            "SELECT id, sensor_id, recorded_at, value, gateway FROM readings "
            "WHERE sensor_id = %s ORDER BY recorded_at DESC LIMIT %s OFFSET %s",
            (sensor_id, limit, offset),
        ).fetchall()
    return sensor["reading_count"], [{**r, "recorded_at": iso(r["recorded_at"])} for r in rows]


def store_batch(gateway: str, readings: list[tuple[int, datetime, float]]) -> list[int] | int:
    """The ids in the batch's order, or the index of the first reading whose sensor takes no
    readings (nothing stored then)."""
    wanted = sorted({s for s, _, _ in readings if 1 <= s <= MAX_ID})
    with pool.connection() as conn, conn.transaction():
        active = {row["id"] for row in conn.execute(LOCK, (wanted,)).fetchall()}
        for index, (sensor_id, _, _) in enumerate(readings):
            if sensor_id not in active:
                return index
        conn.execute(BATCH_TABLE)
        with conn.cursor().copy(
            "COPY batch_in (ord, sensor_id, recorded_at, value) FROM STDIN"
        ) as copy:
            for ord_, (sensor_id, at, value) in enumerate(readings):
                copy.write_row((ord_, sensor_id, at, value))
        return [row["id"] for row in conn.execute(STORE, {"gateway": gateway}).fetchall()]
