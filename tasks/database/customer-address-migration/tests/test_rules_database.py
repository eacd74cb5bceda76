"""The new table and what the migrated customers look like through the API."""

from __future__ import annotations

import pytest
from customer_requests import (
    ADDRESS_KEYS,
    OLD_FIELDS,
    SEED_DOMAIN,
    add_address,
    address_body,
    addresses_of,
    new_customer,
)

SAMPLE = 40


def migrated_customers(db, with_address, extra_condition="true"):
    """Some seeded customers (never modified by any test) with or without address rows."""
    rows = db.execute(
        "SELECT c.id FROM customers AS c WHERE c.email LIKE %s"
        " AND EXISTS (SELECT 1 FROM addresses AS a WHERE a.customer_id = c.id) = %s"
        f" AND ({extra_condition}) ORDER BY c.id LIMIT %s",
        (f"%{SEED_DOMAIN}", with_address, SAMPLE),
    ).fetchall()
    assert rows, "the database holds no such seeded customer"
    return [row[0] for row in rows]


def shown(address):
    """The documented keys of an address the API answers (others may be added)."""
    return None if address is None else {k: address[k] for k in ADDRESS_KEYS}


def stored_addresses(db, customer_id):
    rows = db.execute(
        "SELECT id, customer_id, street, city, postal_code, country, label, is_primary"
        " FROM addresses WHERE customer_id = %s ORDER BY id",
        (customer_id,),
    ).fetchall()
    keys = ("id", "customer_id", "street", "city", "postal_code", "country", "label", "is_primary")
    return [dict(zip(keys, row, strict=True)) for row in rows]


@pytest.mark.rules("db-addresses-table", "db-columns-removed")
def test_addresses_table_has_its_columns_and_customers_lost_the_old_ones(db):
    columns = db.columns("addresses")
    for name in ("id", "customer_id", "street", "city", "postal_code", "country", "label"):
        assert name in columns, columns
    assert columns.get("is_primary") == "boolean", columns
    assert not set(db.columns("customers")) & OLD_FIELDS, db.columns("customers")
    assert ("addresses", "customers") in db.foreign_keys()


@pytest.mark.rules("db-cascade")
def test_deleting_a_customer_deletes_its_addresses(authed_api, unique, db):
    customer = new_customer(authed_api, unique, address=address_body(unique("cascade")))
    add_address(authed_api, customer["id"], address_body(unique("cascade2")))
    assert len(stored_addresses(db, customer["id"])) == 2
    db.execute("DELETE FROM customers WHERE id = %s", (customer["id"],))
    assert stored_addresses(db, customer["id"]) == []
    response = authed_api.get(f"/v1/customers/{customer['id']}")
    assert response.status_code == 404


@pytest.mark.rules("one-primary", "customer-address-primary")
def test_every_customer_with_addresses_has_exactly_one_primary_in_the_database(
    authed_api, unique, db
):
    plain = new_customer(authed_api, unique)
    assert stored_addresses(db, plain["id"]) == []
    customer = new_customer(authed_api, unique, address=address_body(unique("one")))
    for n, flag in enumerate((False, True, False, True)):
        add_address(authed_api, customer["id"], address_body(unique(f"one{n}")), is_primary=flag)
    rows = stored_addresses(db, customer["id"])
    assert len(rows) == 5
    assert [row["is_primary"] for row in rows] == [False, False, False, False, True]


@pytest.mark.rules("migrated-served", "customer-shape", "migrate-up-copy")
def test_migrated_customers_are_served_with_their_address_as_primary(authed_api, db):
    no_postal_code = migrated_customers(
        db,
        True,
        "EXISTS (SELECT 1 FROM addresses AS p WHERE p.customer_id = c.id"
        " AND p.postal_code IS NULL)",
    )
    for cid in migrated_customers(db, True) + no_postal_code[:10]:
        [stored] = stored_addresses(db, cid)
        assert stored["is_primary"] is True and stored["label"] is None, stored
        response = authed_api.get(f"/v1/customers/{cid}")
        assert response.status_code == 200, response.text
        customer = response.json()
        assert shown(customer["primary_address"]) == stored, (cid, customer)
        assert not set(customer) & OLD_FIELDS, customer
        assert [shown(a) for a in addresses_of(authed_api, cid)] == [stored]


@pytest.mark.rules("migrated-served", "migrate-up-none")
def test_migrated_customers_without_address_have_none(authed_api, db):
    for cid in migrated_customers(db, False):
        response = authed_api.get(f"/v1/customers/{cid}")
        assert response.status_code == 200, response.text
        assert response.json()["primary_address"] is None
        assert addresses_of(authed_api, cid) == []


@pytest.mark.rules("migrated-served", "customer-list", "customer-shape-everywhere")
def test_the_list_shows_migrated_customers_with_their_primary_address(authed_api, db):
    first_page = authed_api.get("/v1/customers", params={"limit": 100}).json()
    assert first_page["total"] >= db.scalar(
        "SELECT count(*) FROM customers WHERE email LIKE %s", (f"%{SEED_DOMAIN}",)
    )
    assert len(first_page["items"]) == 100
    for customer in first_page["items"]:
        stored = [a for a in stored_addresses(db, customer["id"]) if a["is_primary"]]
        assert shown(customer["primary_address"]) == (stored[0] if stored else None), customer
        assert authed_api.get(f"/v1/customers/{customer['id']}").json() == customer
