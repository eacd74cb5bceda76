"""What the database holds: tables and keys, exact money, copied prices, creation-time ordering."""

from datetime import datetime, timedelta, timezone

import pytest

FLOAT_TYPES = {"real", "double precision"}
MONEY_WORDS = ("price", "total", "amount", "cost", "cents")
TIME_TYPES = {"timestamp with time zone", "timestamp without time zone"}


def new_customer(api, unique):
    r = api.post("/customers", json={"email": f"{unique('s')}@example.com", "name": "Stored"})
    assert r.status_code == 201, r.text
    return r.json()


def new_product(api, unique, price=1, stock=10):
    r = api.post("/products", json={"name": unique("sp"), "price": price, "stock": stock})
    assert r.status_code == 201, r.text
    return r.json()


def place(api, customer, *lines):
    body = {
        "customer_id": customer["id"],
        "items": [{"product_id": p["id"], "quantity": q} for p, q in lines],
    }
    r = api.post("/orders", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def primary_key(db, table):
    """The single primary-key column of `table` (the submission names its columns)."""
    rows = db.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
        " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
        " WHERE i.indrelid = %s::regclass AND i.indisprimary",
        (table,),
    ).fetchall()
    assert len(rows) == 1, f"{table} has no single-column primary key: {rows}"
    return rows[0][0]


def foreign_key_column(db, child, parent):
    """The column of `child` whose foreign key references `parent`."""
    rows = db.execute(
        "SELECT a.attname FROM pg_constraint con JOIN pg_attribute a"
        " ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]"
        " WHERE con.contype = 'f' AND con.conrelid = %s::regclass AND con.confrelid = %s::regclass",
        (child, parent),
    ).fetchall()
    assert len(rows) == 1, f"expected one foreign key from {child} to {parent}: {rows}"
    return rows[0][0]


def foreign_keys(db):
    return set(
        db.execute(
            "SELECT child.relname, parent.relname FROM pg_constraint con"
            " JOIN pg_class child ON child.oid = con.conrelid"
            " JOIN pg_class parent ON parent.oid = con.confrelid WHERE con.contype = 'f'"
        ).fetchall()
    )


@pytest.mark.rules("db-tables", "db-foreign-keys")
def test_four_tables_hold_one_row_per_line_linked_by_foreign_keys(authed_api, unique, db):
    for table in ("customers", "products", "orders", "order_items"):
        assert db.columns(table), f"no table {table}"
    links = foreign_keys(db)
    assert {
        ("orders", "customers"),
        ("order_items", "orders"),
        ("order_items", "products"),
    } <= links
    customer = new_customer(authed_api, unique)
    product = new_product(authed_api, unique, stock=5)
    order = place(authed_api, customer, (product, 2), (product, 1))
    # one row per order line, linked to its order
    link = foreign_key_column(db, "order_items", "orders")
    count = db.execute(
        f"SELECT count(*) FROM order_items WHERE {link} = %s", (order["id"],)
    ).fetchone()[0]
    assert count == 2


@pytest.mark.rules("money-exact")
def test_money_is_not_stored_as_binary_floating_point(authed_api, unique, db):
    new_product(authed_api, unique, price=0.1)
    for table in ("products", "orders", "order_items"):
        columns = db.columns(table)
        money = {
            name: kind
            for name, kind in columns.items()
            if any(w in name.lower() for w in MONEY_WORDS)
        }
        assert not {n: k for n, k in money.items() if k in FLOAT_TYPES}, f"{table}: {columns}"
    assert db.columns("products"), "no products table"


@pytest.mark.rules("order-unit-price-copied", "order-total", "order-get", "customer-orders")
def test_unit_price_stays_as_copied_when_the_product_price_changes_later(authed_api, unique, db):
    customer = new_customer(authed_api, unique)
    product = new_product(authed_api, unique, price=12.5, stock=10)
    order = place(authed_api, customer, (product, 3))
    assert order["items"][0]["unit_price"] == "12.50" and order["total"] == "37.50"
    # the price changes later (there is no API for it: change it where it is stored)
    price_columns = [n for n in db.columns("products") if "price" in n.lower()]
    assert price_columns, f"no price column in products: {db.columns('products')}"
    pk = primary_key(db, "products")
    sets = ", ".join(f"{c} = {c} * 2" for c in price_columns)
    db.execute(f"UPDATE products SET {sets} WHERE {pk} = %s", (product["id"],))
    assert authed_api.get(f"/products/{product['id']}").json()["price"] == "25.00"
    assert authed_api.get(f"/orders/{order['id']}").json() == order
    assert authed_api.get(f"/customers/{customer['id']}/orders").json()["items"] == [order]
    later = place(authed_api, customer, (product, 1))
    assert later["items"][0]["unit_price"] == "25.00" and later["total"] == "25.00"


@pytest.mark.rules("customer-orders-newest-first", "customer-orders")
def test_orders_are_listed_by_creation_time_then_id_both_descending(authed_api, unique, db):
    customer = new_customer(authed_api, unique)
    product = new_product(authed_api, unique, stock=10)
    first, second, third, fourth = (place(authed_api, customer, (product, 1)) for _ in range(4))
    times = [n for n, kind in db.columns("orders").items() if kind in TIME_TYPES]
    pk = primary_key(db, "orders")
    expected = [fourth, third, second, first]
    if times:
        # `first` is made the newest; `second` and `fourth` share one creation time (id breaks the tie)
        base = datetime.now(timezone.utc)
        for order, moment in (
            (first, base + timedelta(hours=2)),
            (second, base + timedelta(hours=1)),
            (fourth, base + timedelta(hours=1)),
            (third, base - timedelta(hours=1)),
        ):
            sets = ", ".join(f"{c} = %s" for c in times)
            db.execute(
                f"UPDATE orders SET {sets} WHERE {pk} = %s", (*[moment] * len(times), order["id"])
            )
        expected = [first, fourth, second, third]
    listed = authed_api.get(f"/customers/{customer['id']}/orders").json()
    assert listed["total"] == 4
    assert [o["id"] for o in listed["items"]] == [o["id"] for o in expected]
    stamps = [
        datetime.fromisoformat(o["created_at"].replace("Z", "+00:00")) for o in listed["items"]
    ]
    assert stamps == sorted(stamps, reverse=True)
