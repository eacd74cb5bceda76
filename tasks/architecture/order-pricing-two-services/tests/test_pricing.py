"""The internal pricing service, reached on its own port: products, quotes and the price rule."""

from __future__ import annotations

import pytest
from orders_kit import assert_error, new_product, new_sku, pricing, put_price, stock  # noqa: F401


@pytest.mark.rules("put-price", "put-price-invalid", "products-table")
def test_a_price_put_creates_then_replaces_a_product_and_a_bad_one_changes_nothing(pricing, db):
    sku = new_sku()
    put_price(pricing, sku, 480, 20)
    assert db.execute(
        "SELECT unit_price_cents, stock FROM products WHERE sku = %s", (sku,)
    ).fetchone() == (480, 20)
    put_price(pricing, sku, 1_000_000, 0)
    assert db.execute(
        "SELECT unit_price_cents, stock FROM products WHERE sku = %s", (sku,)
    ).fetchone() == (1_000_000, 0)
    bad_bodies = [
        {"unit_price_cents": 0, "stock": 5},
        {"unit_price_cents": 1_000_001, "stock": 5},
        {"unit_price_cents": 1.0, "stock": 5},
        {"unit_price_cents": "5", "stock": 5},
        {"unit_price_cents": True, "stock": 5},
        {"unit_price_cents": 5, "stock": -1},
        {"unit_price_cents": 5, "stock": 1_000_000_001},
        {"unit_price_cents": 5},
        [5, 5],
    ]
    for body in bad_bodies:
        assert_error(pricing.put(f"/prices/{sku}", json=body), 422, "validation_error")
    assert_error(
        pricing.put(f"/prices/{sku}", content=b"{not json", headers={"Content-Type": "application/json"}),
        422, "validation_error",
    )  # fmt: skip
    assert db.execute(
        "SELECT unit_price_cents, stock FROM products WHERE sku = %s", (sku,)
    ).fetchone() == (1_000_000, 0)
    for bad_sku in ("has.dot", "x" * 65, "sp%20ace"):
        r = pricing.put(f"/prices/{bad_sku}", json={"unit_price_cents": 5, "stock": 5})
        assert_error(r, 422, "validation_error")
    assert db.scalar("SELECT count(*) FROM products WHERE sku IN ('has.dot', 'sp ace')") == 0


@pytest.mark.rules("quote", "price-rule", "discount")
@pytest.mark.parametrize(
    ("unit", "quantity", "total"),
    [(335, 1, 335), (335, 9, 3015), (335, 10, 3015), (335, 11, 3316), (7, 1000, 6300),
     (999_999, 1000, 899_999_100)],
)  # fmt: skip
def test_a_quote_follows_the_price_rule(pricing, unit, quantity, total):
    sku = new_product(pricing, unit)
    r = pricing.get("/quote", params={"sku": sku, "quantity": str(quantity)})
    assert r.status_code == 200, r.text
    assert r.json() == {"sku": sku, "quantity": quantity, "unit_price_cents": unit,
                        "total_cents": total}  # fmt: skip


@pytest.mark.rules("quote-unknown", "quote-invalid")
def test_a_quote_of_an_unknown_sku_or_a_bad_quantity_is_refused(pricing):
    sku = new_product(pricing, 100)
    assert_error(pricing.get("/quote", params={"sku": new_sku(), "quantity": "1"}), 404, "unknown_sku")
    for quantity in ("0", "1001", "abc", "1.5", "-1", ""):
        r = pricing.get("/quote", params={"sku": sku, "quantity": quantity})
        assert_error(r, 422, "validation_error")


@pytest.mark.rules("no-cache")
def test_a_changed_price_is_quoted_from_the_next_request_on(pricing):
    sku = new_product(pricing, 500)
    assert pricing.get("/quote", params={"sku": sku, "quantity": "2"}).json()["total_cents"] == 1000
    put_price(pricing, sku, 700)
    assert pricing.get("/quote", params={"sku": sku, "quantity": "2"}).json()["total_cents"] == 1400


@pytest.mark.rules("seed")
def test_the_seeded_products_exist(pricing, db):
    for sku, unit in (("WIDGET-1", 250), ("GADGET-2", 1299)):
        assert db.scalar("SELECT unit_price_cents FROM products WHERE sku = %s", (sku,)) == unit
        r = pricing.get("/quote", params={"sku": sku, "quantity": "2"})
        assert r.json()["total_cents"] == 2 * unit, r.text
        assert stock(db, sku) <= 1_000_000
