"""Helpers of the hidden tests: sensors and instants to use, and what the tables hold.

The sensors are seeded (seed.py): tests pick active sensors at random and post readings at
random instants of their own (microseconds included), so that no test meets another's rows.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

BATCH = "/v1/readings/batch"
SENSOR_FIELDS = (
    "id", "name", "kind", "unit", "status", "reading_count", "last_reading_at", "last_value",
)  # fmt: skip
READING_FIELDS = ("id", "sensor_id", "recorded_at", "value", "gateway")
# sensors with seeded readings, and sensors that have none yet (seed.py: id % 50 == 7)
WITH_READINGS = "status = 'active' AND reading_count > 0"
WITHOUT_READINGS = "status = 'active' AND reading_count = 0"


def active_sensor(db: Any, where: str = WITH_READINGS, exclude: tuple[int, ...] = ()) -> int:
    """A random active sensor's id (matching `where`), none of `exclude`."""
    sensor_id = db.scalar(
        f"SELECT id FROM sensors WHERE {where} AND NOT id = ANY(%s) ORDER BY random() LIMIT 1",
        (list(exclude),),
    )
    assert sensor_id is not None, f"no sensor {where}"
    return int(sensor_id)


def retired_sensor(db: Any) -> int:
    return int(db.scalar("SELECT id FROM sensors WHERE status = 'retired' ORDER BY random() LIMIT 1"))


def missing_sensor_id(db: Any) -> int:
    return int(db.scalar("SELECT max(id) FROM sensors")) + 1_000_000


def future_instant() -> datetime:
    """A random instant (with microseconds) from 2030 to 2090: after every seeded reading."""
    start = datetime(2030, 1, 1, tzinfo=UTC)
    return start + timedelta(seconds=random.randint(0, 60 * 365 * 86400),  # noqa: S311
                             microseconds=random.randint(1, 999_999))  # noqa: S311


def after_latest(db: Any, sensor_id: int) -> datetime:
    """A random instant (with microseconds) after the sensor's latest reading."""
    last = db.scalar("SELECT last_reading_at FROM sensors WHERE id = %s", (sensor_id,))
    base = last or datetime(2030, 1, 1, tzinfo=UTC)
    return base + timedelta(seconds=random.randint(3600, 30 * 86400),  # noqa: S311
                            microseconds=random.randint(1, 999_999))  # noqa: S311


def past_instant(db: Any, sensor_id: int) -> datetime:
    """A random instant (with microseconds) a few days before the sensor's latest reading."""
    last = db.scalar("SELECT last_reading_at FROM sensors WHERE id = %s", (sensor_id,))
    return last - timedelta(seconds=random.randint(86400, 5 * 86400),  # noqa: S311
                            microseconds=random.randint(1, 999_999))  # noqa: S311


def z(at: datetime) -> str:
    """The instant written in UTC with Z."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def reading(sensor_id: int, at: datetime | str, value: float) -> dict[str, Any]:
    return {"sensor_id": sensor_id, "recorded_at": at if isinstance(at, str) else z(at),
            "value": value}  # fmt: skip


def batch(readings: list[dict[str, Any]], gateway: str = "gw-test") -> dict[str, Any]:
    return {"gateway": gateway, "readings": readings}


def post_batch(client: Any, readings: list[dict[str, Any]], gateway: str = "gw-test") -> Any:
    return client.post(BATCH, json=batch(readings, gateway))


def stored(db: Any, sensor_id: int, at: datetime) -> dict[str, Any] | None:
    """The stored reading of a sensor at an instant, or None."""
    row = db.execute(
        "SELECT id, sensor_id, recorded_at, value, gateway FROM readings "
        "WHERE sensor_id = %s AND recorded_at = %s",
        (sensor_id, at),
    ).fetchone()
    return None if row is None else dict(zip(READING_FIELDS, row, strict=True))


def reading_by_id(db: Any, reading_id: int) -> dict[str, Any] | None:
    row = db.execute(
        "SELECT id, sensor_id, recorded_at, value, gateway FROM readings WHERE id = %s",
        (reading_id,),
    ).fetchone()
    return None if row is None else dict(zip(READING_FIELDS, row, strict=True))


def figures(db: Any, sensor_id: int) -> tuple[int, datetime | None, float | None]:
    """(reading_count, last_reading_at, last_value) as the sensors table holds them."""
    row = db.execute(
        "SELECT reading_count, last_reading_at, last_value FROM sensors WHERE id = %s",
        (sensor_id,),
    ).fetchone()
    return tuple(row)


def true_figures(db: Any, sensor_id: int) -> tuple[int, datetime | None, float | None]:
    """(count, latest recorded_at, its value) as the sensor's readings give them."""
    count, latest = db.execute(
        "SELECT count(*), max(recorded_at) FROM readings WHERE sensor_id = %s", (sensor_id,)
    ).fetchone()
    value = db.scalar(
        "SELECT value FROM readings WHERE sensor_id = %s AND recorded_at = %s",
        (sensor_id, latest),
    )
    return int(count), latest, value


def assert_figures_true(db: Any, *sensor_ids: int) -> None:
    """Each sensor's columns equal what its readings give."""
    for sensor_id in sensor_ids:
        assert figures(db, sensor_id) == true_figures(db, sensor_id), sensor_id


def sensor_rows(db: Any, sensor_ids: list[int]) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT id, reading_count, last_reading_at, last_value FROM sensors "
        "WHERE id = ANY(%s) ORDER BY id",
        (sensor_ids,),
    ).fetchall()


def readings_at(db: Any, instants: list[datetime]) -> int:
    """How many readings are stored at any of these instants (of any sensor)."""
    return int(db.scalar("SELECT count(*) FROM readings WHERE recorded_at = ANY(%s)", (instants,)))


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, (response.request.url, response.text[:500])
    body = response.json()
    assert isinstance(body.get("error"), dict), body
    assert body["error"].get("code") == code, body
    assert isinstance(body["error"].get("message"), str), body


def parse_time(text: str) -> datetime:
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert at.utcoffset() is not None, text
    return at
