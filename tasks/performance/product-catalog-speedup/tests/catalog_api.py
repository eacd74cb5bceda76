"""Helpers of the hidden tests: what the API must answer, read from the database itself.

The catalogue is seeded (seed.py), so the tests pick their products and categories from the
database and compute every expected figure with SQL at the time of the request.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

PRODUCT_FIELDS = (
    "id", "sku", "name", "category_id", "category_name", "price_cents", "stock",
    "review_count", "average_rating",
)  # fmt: skip
REVIEW_FIELDS = ("id", "product_id", "rating", "author", "body", "created_at")

# the expected products: straight from the tables, one subquery per figure (slow but plain)
EXPECTED_PRODUCTS = """
SELECT p.id, p.sku, p.name, p.category_id, c.name AS category_name, p.price_cents, p.stock,
       (SELECT count(*) FROM reviews r WHERE r.product_id = p.id) AS review_count,
       (SELECT avg(r.rating) FROM reviews r WHERE r.product_id = p.id) AS exact_average
FROM products p JOIN categories c ON c.id = p.category_id
"""
EXPECTED_COLUMNS = (*PRODUCT_FIELDS[:-1], "exact_average")
HALF_CENT = Decimal("0.005")


def expected_products(
    db: Any, where: str = "", params: tuple[Any, ...] = (), limit: int = 20, offset: int = 0
) -> list[dict[str, Any]]:
    """The products matching `where` (on alias p), by id, as rows of the tables."""
    rows = db.execute(
        f"{EXPECTED_PRODUCTS} {where} ORDER BY p.id LIMIT %s OFFSET %s",
        (*params, limit, offset),
    ).fetchall()
    return [dict(zip(EXPECTED_COLUMNS, row, strict=True)) for row in rows]


def expected_product(db: Any, product_id: int) -> dict[str, Any]:
    [row] = expected_products(db, "WHERE p.id = %s", (product_id,), limit=1)
    return row


def count_products(db: Any, where: str = "", params: tuple[Any, ...] = ()) -> int:
    return int(db.scalar(f"SELECT count(*) FROM products p {where}", params))


def assert_average(got: Any, exact: Decimal | None, context: Any = None) -> None:
    """null without reviews; else the mean rounded to two decimals (either way at a half)."""
    if exact is None:
        assert got is None, (got, context)
        return
    assert isinstance(got, (int, float)) and not isinstance(got, bool), (got, context)
    shown = Decimal(str(got))
    assert shown == shown.quantize(Decimal("0.01")), f"not two decimals: {got} ({context})"
    assert abs(shown - exact) <= HALF_CENT, f"average {got}, exact mean {exact} ({context})"


def assert_product(got: dict[str, Any], want: dict[str, Any]) -> None:
    """An API product equals the tables' row, field by field."""
    assert set(got) >= set(PRODUCT_FIELDS), got
    for field in PRODUCT_FIELDS[:-1]:
        assert got[field] == want[field], (field, got, want)
    assert_average(got["average_rating"], want["exact_average"], got)


def assert_products(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert [p["id"] for p in got] == [p["id"] for p in want]
    for g, w in zip(got, want, strict=True):
        assert_product(g, w)


def expected_reviews(
    db: Any, product_id: int, limit: int = 20, offset: int = 0
) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT id, product_id, rating, author, body, created_at FROM reviews "
        "WHERE product_id = %s ORDER BY id DESC LIMIT %s OFFSET %s",
        (product_id, limit, offset),
    ).fetchall()
    return [dict(zip(REVIEW_FIELDS, row, strict=True)) for row in rows]


def assert_review(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert set(got) >= set(REVIEW_FIELDS), got
    for field in REVIEW_FIELDS[:-1]:
        assert got[field] == want[field], (field, got, want)
    created = datetime.fromisoformat(got["created_at"].replace("Z", "+00:00"))
    assert created.utcoffset() is not None, got
    assert created == want["created_at"], (got, want)


def review_count(db: Any, product_id: int) -> int:
    return int(db.scalar("SELECT count(*) FROM reviews WHERE product_id = %s", (product_id,)))


def random_product(db: Any, where: str = "", params: tuple[Any, ...] = ()) -> int:
    """The id of a product picked at random among those matching `where` (on alias p)."""
    product_id = db.scalar(f"SELECT p.id FROM products p {where} ORDER BY random() LIMIT 1", params)
    assert product_id is not None, f"no product {where} {params}"
    return int(product_id)


def random_category(db: Any) -> int:
    return int(db.scalar("SELECT id FROM categories ORDER BY random() LIMIT 1"))


def missing_product_id(db: Any) -> int:
    """An id no product has (and none will: ids come from the identity sequence)."""
    return int(db.scalar("SELECT max(id) FROM products")) + 1_000_000


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, (response.request.url, response.text)
    body = response.json()
    assert isinstance(body.get("error"), dict), body
    assert body["error"].get("code") == code, body
    assert isinstance(body["error"].get("message"), str), body


def new_review(**fields: Any) -> dict[str, Any]:
    body = {"rating": 4, "author": "Test Reviewer", "body": "Works as described."}
    body.update(fields)
    return body
