"""Customers: the new shape, creation with or without an address, validation, the list."""

from __future__ import annotations

import pytest
from customer_requests import (
    CUSTOMER_KEYS,
    OLD_FIELDS,
    SEED_DOMAIN,
    address_body,
    addresses_of,
    assert_address,
    assert_error,
    new_customer,
)


def emails_stored(db, email):
    return db.scalar("SELECT count(*) FROM customers WHERE email = %s", (email,))


def streets_stored(db, street):
    return db.scalar("SELECT count(*) FROM addresses WHERE street = %s", (street,))


def assert_customer(customer, name, email):
    assert isinstance(customer, dict) and set(customer) >= CUSTOMER_KEYS, customer
    assert not set(customer) & OLD_FIELDS, customer
    assert isinstance(customer["id"], int) and not isinstance(customer["id"], bool)
    assert customer["id"] >= 1
    assert (customer["name"], customer["email"]) == (name, email)


@pytest.mark.rules("customer-create", "customer-shape", "old-fields-gone", "ids-positive")
def test_customer_created_without_address_has_primary_address_null(authed_api, unique):
    for extra in ({}, {"address": None}):
        email = f"{unique('plain')}@example.com"
        response = authed_api.post("/v1/customers", json={"name": "Ada", "email": email, **extra})
        assert response.status_code == 201, response.text
        created = response.json()
        assert_customer(created, "Ada", email)
        assert created["primary_address"] is None
        assert authed_api.get(f"/v1/customers/{created['id']}").json() == created
        assert addresses_of(authed_api, created["id"]) == []


@pytest.mark.rules(
    "customer-create", "customer-address-primary", "customer-shape", "address-shape", "ids-positive"
)
def test_customer_created_with_address_shows_it_as_primary(authed_api, unique):
    email = f"{unique('with')}@example.com"
    sent = address_body(unique("create"))
    response = authed_api.post(
        "/v1/customers", json={"name": "Grace", "email": email, "address": sent}
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert_customer(created, "Grace", email)
    assert_address(created["primary_address"], created["id"], sent, primary=True)
    assert authed_api.get(f"/v1/customers/{created['id']}").json() == created
    assert addresses_of(authed_api, created["id"]) == [created["primary_address"]]


@pytest.mark.rules("customer-create", "address-shape")
def test_address_without_postal_code_and_label_stores_nulls(authed_api, unique):
    for optional in ({}, {"postal_code": None, "label": None}):
        sent = {"street": unique("hk"), "city": "Hong Kong", "country": "HK", **optional}
        created = new_customer(authed_api, unique, address=sent)
        expected = {"postal_code": None, "label": None, **sent}
        assert_address(created["primary_address"], created["id"], expected, primary=True)
        assert addresses_of(authed_api, created["id"])[0]["postal_code"] is None


@pytest.mark.rules("customer-create-atomic", "validation-422", "email-conflict")
def test_a_refused_create_stores_neither_customer_nor_address(authed_api, unique, db):
    email = f"{unique('atomic')}@example.com"
    street = unique("atomic-street")
    refused = authed_api.post(
        "/v1/customers",
        json={
            "name": "Atomic",
            "email": email,
            "address": address_body("x", street=street, country="XX"),
        },
    )
    assert_error(refused, 422, "validation_error")
    assert emails_stored(db, email) == 0
    assert streets_stored(db, street) == 0
    first = new_customer(authed_api, unique)
    conflict = authed_api.post(
        "/v1/customers",
        json={
            "name": "Second",
            "email": first["email"],
            "address": address_body("x", street=street),
        },
    )
    assert_error(conflict, 409, "conflict")
    assert streets_stored(db, street) == 0
    assert authed_api.get(f"/v1/customers/{first['id']}").json() == first


@pytest.mark.rules("unknown-fields-ignored", "old-fields-gone")
def test_old_flat_address_fields_and_unknown_fields_are_ignored(authed_api, unique, db):
    email = f"{unique('flat')}@example.com"
    street = unique("flat-street")
    response = authed_api.post(
        "/v1/customers",
        json={
            "name": "Old Client",
            "email": email,
            "street": street,
            "city": "Paris",
            "postal_code": "75001",
            "country": "FR",
            "nickname": "ignored",
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert_customer(created, "Old Client", email)
    assert created["primary_address"] is None
    assert addresses_of(authed_api, created["id"]) == []
    assert streets_stored(db, street) == 0


@pytest.mark.rules("customer-name", "validation-422", "error-body")
def test_customer_name_is_checked_at_both_edges(authed_api, unique, db):
    for name in ("x", "y" * 200, "日本語の名前", " padded "):
        created = new_customer(authed_api, unique, name=name)
        assert created["name"] == name
    for name in ("", " ", "\t\n ", "z" * 201, None, 12, ["a"]):
        email = f"{unique('name')}@example.com"
        response = authed_api.post("/v1/customers", json={"name": name, "email": email})
        assert_error(response, 422, "validation_error")
        assert emails_stored(db, email) == 0


@pytest.mark.rules("customer-email", "validation-422")
def test_customer_email_is_checked_at_both_edges(authed_api, unique, db):
    token = unique("e").replace("-", "")
    domain = "@example.com"
    accepted = [
        f"{token}a@b",
        f"o'brien.{token}@example.co.uk",
        f"{token}" + "a" * (254 - len(token) - len(domain)) + domain,
    ]
    for email in accepted:
        response = authed_api.post("/v1/customers", json={"name": "Mail", "email": email})
        assert response.status_code == 201, (email, response.text)
        assert response.json()["email"] == email
    refused = [
        token,
        f"{token}@",
        f"@{token}",
        f"{token}@@example.com",
        f"{token}@ex@ample.com",
        f" {token}@example.com",
        f"{token}@example.com ",
        f"{token} x@example.com",
        f"{token}@exa\tmple.com",
        "b" + accepted[2],
        "",
    ]
    for email in refused:
        response = authed_api.post("/v1/customers", json={"name": "Bad", "email": email})
        assert_error(response, 422, "validation_error")
    assert db.scalar("SELECT count(*) FROM customers WHERE strpos(email, %s) > 0", (token,)) == 3


@pytest.mark.rules("email-conflict")
def test_an_email_already_used_is_409_also_a_migrated_customers(authed_api, unique, db):
    first = new_customer(authed_api, unique, name="First")
    response = authed_api.post("/v1/customers", json={"name": "Second", "email": first["email"]})
    assert_error(response, 409, "conflict")
    assert emails_stored(db, first["email"]) == 1
    assert authed_api.get(f"/v1/customers/{first['id']}").json()["name"] == "First"
    migrated = db.scalar(
        "SELECT email FROM customers WHERE email LIKE %s ORDER BY id LIMIT 1", (f"%{SEED_DOMAIN}",)
    )
    assert migrated is not None, "the database holds no seeded customer"
    response = authed_api.post("/v1/customers", json={"name": "Copycat", "email": migrated})
    assert_error(response, 409, "conflict")
    assert emails_stored(db, migrated) == 1


@pytest.mark.rules("validation-422", "error-body")
def test_customer_body_of_the_wrong_shape_is_422(authed_api, unique):
    email = f"{unique('shape')}@example.com"
    for kwargs in (
        {"json": {"name": "No Email"}},
        {"json": {"email": email}},
        {"json": {"name": "Number", "email": 12345}},
        {"json": {"name": "Addr", "email": email, "address": "1 Main Street"}},
        {"json": {"name": "Addr", "email": email, "address": []}},
        {"json": {"name": "Addr", "email": email, "address": {"street": "1 Main St"}}},
        {"json": ["not", "an", "object"]},
        {"content": b'{"name": "x", "email": ', "headers": {"Content-Type": "application/json"}},
    ):
        assert_error(authed_api.post("/v1/customers", **kwargs), 422, "validation_error")


@pytest.mark.rules("customer-list", "customer-paging", "customer-shape-everywhere")
def test_customer_list_is_by_id_with_total_before_paging(authed_api, unique):
    total_before = authed_api.get("/v1/customers", params={"limit": 1}).json()["total"]
    mine = [
        new_customer(authed_api, unique, name="List 0"),
        new_customer(authed_api, unique, address=address_body(unique("list")), name="List 1"),
        new_customer(authed_api, unique, name="List 2"),
    ]
    page = authed_api.get("/v1/customers", params={"limit": 2, "offset": total_before}).json()
    assert page["total"] == total_before + 3
    assert page["items"] == mine[:2]
    page = authed_api.get("/v1/customers", params={"limit": 2, "offset": total_before + 2}).json()
    assert (page["items"], page["total"]) == (mine[2:], total_before + 3)
    assert (
        authed_api.get("/v1/customers", params={"offset": total_before + 3}).json()["items"] == []
    )


@pytest.mark.rules("customer-list", "customer-shape-everywhere")
def test_a_customer_with_several_addresses_is_listed_once_with_its_primary(authed_api, unique):
    total_before = authed_api.get("/v1/customers", params={"limit": 1}).json()["total"]
    customer = new_customer(authed_api, unique, address=address_body(unique("once")))
    for n in range(3):
        response = authed_api.post(
            f"/v1/customers/{customer['id']}/addresses", json=address_body(unique(f"more{n}"))
        )
        assert response.status_code == 201, response.text
    after = new_customer(authed_api, unique)
    page = authed_api.get("/v1/customers", params={"limit": 10, "offset": total_before}).json()
    assert [c["id"] for c in page["items"]] == [customer["id"], after["id"]]
    assert page["items"][0] == customer
    assert page["total"] == total_before + 2


@pytest.mark.rules("customer-paging", "customer-list")
def test_customer_list_defaults_to_50_from_offset_0(authed_api):
    default = authed_api.get("/v1/customers").json()
    assert len(default["items"]) == 50
    assert (
        default["items"]
        == authed_api.get("/v1/customers", params={"limit": 50, "offset": 0}).json()["items"]
    )
    ids = [c["id"] for c in authed_api.get("/v1/customers", params={"limit": 100}).json()["items"]]
    assert ids[:50] == [c["id"] for c in default["items"]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) == 100


@pytest.mark.rules("customer-paging", "validation-422", "error-body")
def test_limit_and_offset_are_checked_at_both_edges(authed_api):
    for params in ({"limit": 1}, {"limit": 100}, {"offset": 0}, {"limit": 1, "offset": 1}):
        response = authed_api.get("/v1/customers", params=params)
        assert response.status_code == 200, (params, response.text)
        assert len(response.json()["items"]) == params.get("limit", 50)
    for params in (
        {"limit": 0},
        {"limit": 101},
        {"limit": -1},
        {"offset": -1},
        {"limit": "ten"},
        {"offset": "x"},
        {"limit": "1.5"},
    ):
        assert_error(authed_api.get("/v1/customers", params=params), 422, "validation_error")


@pytest.mark.rules("customer-paging", "customer-list")
def test_an_offset_past_every_customer_is_an_empty_page(authed_api):
    # offset has no upper bound: one past every row, or too large for a 64-bit integer, is valid
    for offset in (2**63 - 1, 2**63, 10**30):
        response = authed_api.get("/v1/customers", params={"limit": 5, "offset": offset})
        assert response.status_code == 200, (offset, response.text[:300])
        page = response.json()
        assert page["items"] == [], offset
        assert isinstance(page["total"], int) and page["total"] >= 1, page
