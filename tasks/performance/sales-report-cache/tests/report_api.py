"""Helpers of the hidden tests: the report the API must answer, computed from the tables.

Stores 1 to 20 hold the seeded sales; stores 21 to 60 have none, so a test records its own sales
there, in a year of a store no other test of the run uses (`fresh_period`).
"""

from __future__ import annotations

import itertools
import random
from datetime import datetime
from typing import Any

SEEDED_STORES = range(1, 21)
EMPTY_STORES = range(21, 61)
SEEDED_YEARS = (2024, 2025)
_periods = itertools.count()
_offset = random.randrange(10_000)

EXPECTED_MONTHS = """
SELECT extract(month FROM sold_at AT TIME ZONE 'UTC')::int AS month,
       sum(quantity::numeric * unit_price_cents) AS revenue, count(*) AS sales,
       sum(quantity) AS units
FROM sales
WHERE store_id = %(store)s AND extract(year FROM sold_at AT TIME ZONE 'UTC') = %(year)s
GROUP BY 1
"""
EXPECTED_TOP = """
SELECT s.product_id, p.name, sum(s.quantity::numeric * s.unit_price_cents) AS revenue,
       sum(s.quantity) AS units
FROM sales s JOIN products p ON p.id = s.product_id
WHERE s.store_id = %(store)s AND extract(year FROM s.sold_at AT TIME ZONE 'UTC') = %(year)s
GROUP BY s.product_id, p.name
ORDER BY revenue DESC, s.product_id
LIMIT 5
"""


def fresh_period(db: Any) -> tuple[int, int]:
    """A store without seeded sales and a year in which it has no sale yet."""
    for _ in range(200):
        n = next(_periods) + _offset
        store = EMPTY_STORES[n % len(EMPTY_STORES)]
        year = 2000 + (n // len(EMPTY_STORES)) % 101
        if year in SEEDED_YEARS:
            continue
        if not db.scalar(
            "SELECT count(*) FROM sales WHERE store_id = %s "
            "AND extract(year FROM sold_at AT TIME ZONE 'UTC') = %s",
            (store, year),
        ):
            return store, year
    raise AssertionError("no fresh store and year left")


def expected_report(db: Any, store: int, year: int) -> dict[str, Any]:
    """The report as the tables give it (independent SQL: exact numerics, UTC years)."""
    params = {"store": store, "year": year}
    months = {int(r[0]): r for r in db.execute(EXPECTED_MONTHS, params).fetchall()}
    top = db.execute(EXPECTED_TOP, params).fetchall()
    listed = [
        {
            "month": m,
            "revenue_cents": int(months[m][1]) if m in months else 0,
            "sales": int(months[m][2]) if m in months else 0,
        }
        for m in range(1, 13)
    ]
    return {
        "store_id": store,
        "year": year,
        "revenue_cents": sum(m["revenue_cents"] for m in listed),
        "sales": sum(m["sales"] for m in listed),
        "units": sum(int(r[3]) for r in months.values()),
        "months": listed,
        "top_products": [
            {"product_id": int(r[0]), "name": r[1], "revenue_cents": int(r[2]), "units": int(r[3])}
            for r in top
        ],
    }


def assert_report(got: dict[str, Any], want: dict[str, Any]) -> None:
    """An API report equals the tables' one, field by field (extra fields are allowed)."""
    for field, value in want.items():
        assert got.get(field) == value, (field, got.get(field), value)


def report(api: Any, store: int, year: int) -> dict[str, Any]:
    response = api.get(f"/v1/stores/{store}/report", params={"year": year})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def new_sale(year: int, **fields: Any) -> dict[str, Any]:
    """A valid sale in `year` (mid-June, UTC)."""
    body: dict[str, Any] = {
        "product_id": random.randint(1, 400),
        "quantity": random.randint(1, 20),
        "unit_price_cents": random.randint(0, 50_000),
        "sold_at": f"{year}-06-15T12:00:00+00:00",
    }
    body.update(fields)
    return body


def record(authed_api: Any, store: int, body: dict[str, Any]) -> dict[str, Any]:
    response = authed_api.post(f"/v1/stores/{store}/sales", json=body)
    assert response.status_code == 201, response.text
    sale: dict[str, Any] = response.json()
    return sale


def sales_count(db: Any, store: int) -> int:
    return int(db.scalar("SELECT count(*) FROM sales WHERE store_id = %s", (store,)))


def instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert value.utcoffset() is not None, text
    return value


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, (response.request.url, response.text)
    body = response.json()
    assert isinstance(body.get("error"), dict), body
    assert body["error"].get("code") == code, body
    assert isinstance(body["error"].get("message"), str), body
