"""The migrated orders, as the database holds them and as the API serves them.

The seeded database's first orders are fixed (the others are random): the legacy text of each
and the exact cents it means are below, so a lossy upgrade shows through the API too.
"""

from __future__ import annotations

import pytest
from order_requests import MAX_CENTS, assert_order, canonical, shown

# id: (legacy text at revision 0001, exact cents)
FIXED = {
    1: ("0", 0), 2: ("0.00", 0), 5: ("0.5", 50), 6: ("0.05", 5), 7: ("0.1", 10),
    8: ("0.2", 20), 9: ("0.3", 30), 10: ("0.29", 29), 11: ("0.57", 57), 12: ("1.1", 110),
    13: ("1.15", 115), 14: ("4.35", 435), 15: ("8.2", 820), 16: ("19.99", 1999),
    17: ("12.50", 1250), 18: ("12.5", 1250), 19: ("7", 700), 21: ("1,234.00", 123400),
    22: ("1,234", 123400), 23: ("1234.5", 123450), 24: ("  19.99 ", 1999),
    27: ("007.10", 710), 29: ("1,000,000", 100_000_000), 30: ("21,474,836.47", 2**31 - 1),
    31: ("21,474,836.48", 2**31), 34: ("90,071,992,547,409.92", 2**53),
    35: ("90,071,992,547,409.93", 2**53 + 1), 36: ("90071992547409.95", 2**53 + 3),
    37: ("9,999,999,999,999,999.99", MAX_CENTS), 39: ("9999999999999999", MAX_CENTS - 99),
    40: ("1,000,000,000,000,000.01", 10**17 + 1), 41: ("123,456,789,012,345.67", 12345678901234567),
}  # fmt: skip
SAMPLE = 60


def stored_rows(db, condition, params=()):
    """(id, customer_name, amount_cents) of seeded orders (ids up to 100 000), by id."""
    return db.execute(
        "SELECT id, customer_name, amount_cents FROM orders"
        f" WHERE id <= 100000 AND ({condition}) ORDER BY id LIMIT {SAMPLE}",
        params,
    ).fetchall()


@pytest.mark.rules("migrated-served", "migrate-up-cents", "amount-text")
def test_the_fixed_seeded_amounts_are_served_exactly(authed_api, db):
    for order_id, (text, cents) in FIXED.items():
        response = authed_api.get(f"/v1/orders/{order_id}")
        assert response.status_code == 200, response.text
        order = response.json()
        name = db.scalar("SELECT customer_name FROM orders WHERE id = %s", (order_id,))
        assert (order["amount_cents"], order["amount"]) == (cents, canonical(cents)), (text, order)
        assert_order(order, name, cents)


@pytest.mark.rules("migrated-served", "order-shape", "amount-text")
def test_migrated_orders_are_served_as_the_database_holds_them(authed_api, db):
    rows = (
        stored_rows(db, "amount_cents > 9007199254740992")
        + stored_rows(db, "amount_cents BETWEEN 2147483648 AND 9007199254740992")
        + stored_rows(db, "amount_cents %% 10 <> 0 AND amount_cents < 1000")
        + stored_rows(db, "customer_name <> btrim(customer_name) OR customer_name ~ '[^ -~]'")
    )
    assert len(rows) > 3 * SAMPLE, "the database holds too few seeded orders"
    for order_id, name, cents in rows:
        response = authed_api.get(f"/v1/orders/{order_id}")
        assert response.status_code == 200, response.text
        assert_order(response.json(), name, cents)
        assert response.json()["id"] == order_id


@pytest.mark.rules("migrated-served", "list-order", "order-shape-everywhere")
def test_the_list_shows_migrated_orders_as_the_database_holds_them(authed_api, db):
    page = authed_api.get("/v1/orders", params={"limit": 100, "offset": 30}).json()
    rows = db.execute(
        "SELECT id, customer_name, amount_cents FROM orders ORDER BY id LIMIT 100 OFFSET 30"
    ).fetchall()
    assert [(o["id"], o["customer_name"], o["amount_cents"]) for o in page["items"]] == rows
    for order in page["items"]:
        assert order["amount"] == canonical(order["amount_cents"]), order
        assert authed_api.get(f"/v1/orders/{order['id']}").json() == order


@pytest.mark.rules("migrated-served", "list-filter", "list-total")
def test_the_filter_finds_migrated_orders_by_their_seeded_names(authed_api, db):
    names = [
        row[0]
        for row in db.execute(
            "SELECT customer_name FROM orders WHERE id <= 100000 AND (customer_name LIKE %s"
            " OR customer_name LIKE %s OR customer_name ~ '^ ') GROUP BY customer_name"
            " ORDER BY customer_name LIMIT 6",
            ("%O'Brien", "%\"%"),
        ).fetchall()
    ]
    assert len(names) >= 3, names
    for name in names:
        count = db.scalar("SELECT count(*) FROM orders WHERE customer_name = %s", (name,))
        listed = authed_api.get("/v1/orders", params={"customer_name": name, "limit": 100})
        assert listed.status_code == 200, listed.text
        assert listed.json()["total"] == count, name
        first = db.execute(
            "SELECT id FROM orders WHERE customer_name = %s ORDER BY id LIMIT 100", (name,)
        ).fetchall()
        assert [o["id"] for o in listed.json()["items"]] == [row[0] for row in first]
        assert all(shown(o)["customer_name"] == name for o in listed.json()["items"])


@pytest.mark.rules("db-columns")
def test_orders_has_customer_name_and_amount_cents_and_no_old_columns(db):
    columns = db.columns("orders")
    assert columns.get("customer_name") == "text", columns
    assert columns.get("amount_cents") == "bigint", columns
    assert not set(columns) & {"cust_name", "amount"}, columns
