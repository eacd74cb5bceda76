"""Creating items: fields, boundaries on both sides, server-assigned values, what is stored."""

from __future__ import annotations

import random
from datetime import datetime

import pytest
from items_api import (
    FIELDS,
    MAX_QUANTITY,
    assert_error,
    assert_item,
    count_named,
    new_item,
    read_item,
    rows_mentioning,
)


@pytest.mark.rules("health-ok")
def test_health_answers_status_ok(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.rules("create-201-location", "item-six-fields", "created-at-format")
def test_create_answers_201_item_and_location_that_resolves(api, authed_api, unique):
    name = unique("create")
    response = authed_api.post(
        "/v1/items", json={"name": name, "sku": "SKU-1", "price": 12.25, "quantity": 7}
    )
    assert response.status_code == 201, response.text
    item = response.json()
    assert_item(item)
    assert (item["name"], item["sku"], item["price"], item["quantity"]) == (name, "SKU-1", 12.25, 7)
    location = response.headers.get("location", "")
    assert location.rstrip("/").endswith(f"/v1/items/{item['id']}"), location
    fetched = api.get(location)
    assert fetched.status_code == 200, fetched.text
    assert {k: fetched.json()[k] for k in FIELDS} == {k: item[k] for k in FIELDS}


@pytest.mark.rules("id-server-assigned", "created-at-format")
def test_create_assigns_id_and_created_at_itself(api, authed_api, unique):
    chosen_id = 2_000_000_000 + random.randint(0, 100_000_000)  # noqa: S311
    response = authed_api.post(
        "/v1/items",
        json={
            "id": chosen_id,
            "created_at": "2001-02-03T04:05:06+00:00",
            "name": unique("ids"),
            "price": 3,
            "quantity": 1,
        },
    )
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["id"] != chosen_id
    created = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
    assert created.year != 2001, item["created_at"]
    assert_error(api.get(f"/v1/items/{chosen_id}"), 404, "not_found")
    other = new_item(authed_api, unique)
    assert other["id"] != item["id"]


@pytest.mark.rules("name-length", "name-verbatim", "rejected-changes-nothing", "error-422")
def test_create_name_length_boundaries_counted_in_characters(api, authed_api, unique):
    single = chr(0x4E00 + random.randint(0, 20_000))  # noqa: S311
    hundred = unique("n")[:34] + "é" * 66
    for name in (single, hundred, unique("w")[:34] + "w" * 66):
        response = authed_api.post("/v1/items", json={"name": name, "price": 1, "quantity": 1})
        assert response.status_code == 201, (len(name), response.text)
        assert response.json()["name"] == name
        authed_api.delete(f"/v1/items/{response.json()['id']}")
    for name in ("", unique("n")[:34] + "é" * 67, unique("w")[:34] + "w" * 67):
        response = authed_api.post("/v1/items", json={"name": name, "price": 1, "quantity": 1})
        assert_error(response, 422, "validation_error")
        if name:
            assert count_named(api, name) == 0


@pytest.mark.rules("create-fields", "error-422", "rejected-changes-nothing")
def test_create_requires_name_price_and_quantity(api, authed_api, unique):
    name = unique("req")
    for missing in ("name", "price", "quantity"):
        body = {"name": name, "price": 2.5, "quantity": 4}
        del body[missing]
        assert_error(authed_api.post("/v1/items", json=body), 422, "validation_error")
    assert count_named(api, name) == 0


@pytest.mark.rules("sku-optional", "error-422")
def test_create_sku_optional_1_to_64_characters(api, authed_api, unique):
    assert new_item(authed_api, unique)["sku"] is None
    assert new_item(authed_api, unique, sku=None)["sku"] is None
    for sku in ("S", "K" * 64):
        item = new_item(authed_api, unique, sku=sku)
        assert item["sku"] == sku
        assert read_item(api, item["id"])["sku"] == sku
    for sku in ("", "K" * 65):
        name = unique("sku")
        response = authed_api.post(
            "/v1/items", json={"name": name, "sku": sku, "price": 1, "quantity": 1}
        )
        assert_error(response, 422, "validation_error")
        assert count_named(api, name) == 0


@pytest.mark.rules("price-positive", "error-422", "rejected-changes-nothing")
def test_create_price_strictly_greater_than_zero(api, authed_api, unique):
    for price in (0, 0.0, -0.01, -7):
        name = unique("price")
        response = authed_api.post("/v1/items", json={"name": name, "price": price, "quantity": 1})
        assert_error(response, 422, "validation_error")
        assert count_named(api, name) == 0
    for price in (0.01, 5, 123456.75):
        item = new_item(authed_api, unique, price=price)
        assert item["price"] == price
        assert read_item(api, item["id"])["price"] == price


@pytest.mark.rules("quantity-range", "error-422", "rejected-changes-nothing")
def test_create_quantity_between_0_and_2147483647(api, authed_api, unique):
    for quantity in (0, MAX_QUANTITY):
        item = new_item(authed_api, unique, quantity=quantity)
        assert item["quantity"] == quantity
        assert read_item(api, item["id"])["quantity"] == quantity
    for quantity in (-1, MAX_QUANTITY + 1, 1.5):
        name = unique("qty")
        response = authed_api.post("/v1/items", json={"name": name, "price": 1, "quantity": quantity})
        assert_error(response, 422, "validation_error")
        assert count_named(api, name) == 0


@pytest.mark.rules("field-types", "error-422")
def test_create_rejects_fields_of_the_wrong_json_type(api, authed_api, unique):
    name = unique("types")
    for change in (
        {"name": 12345},
        {"sku": 42},
        {"price": "abc"},
        {"price": "5"},
        {"price": True},
        {"quantity": "many"},
        {"quantity": "3"},
        {"quantity": True},
    ):
        body = {"name": name, "price": 1, "quantity": 1, **change}
        assert_error(authed_api.post("/v1/items", json=body), 422, "validation_error")
    assert count_named(api, name) == 0


@pytest.mark.rules("error-422", "rejected-changes-nothing")
def test_create_rejects_a_body_that_is_not_a_json_object(authed_api):
    for content in (b'{"name": "broken", "price": 1,', b'[{"name": "x", "price": 1}]', b'"text"'):
        response = authed_api.post(
            "/v1/items", content=content, headers={"Content-Type": "application/json"}
        )
        assert_error(response, 422, "validation_error")


@pytest.mark.rules("unknown-fields-ignored")
def test_create_ignores_unknown_fields(api, authed_api, unique):
    name = unique("extra")
    response = authed_api.post(
        "/v1/items",
        json={"name": name, "price": 4, "quantity": 2, "colour": "red", "tags": ["a"], "x": None},
    )
    assert response.status_code == 201, response.text
    item = response.json()
    assert (item["name"], item["price"], item["quantity"], item["sku"]) == (name, 4, 2, None)
    assert count_named(api, name) == 1


@pytest.mark.rules("error-409", "rejected-changes-nothing", "name-unique")
def test_create_duplicate_name_is_409_and_keeps_the_existing_item(api, authed_api, unique, db):
    first = new_item(authed_api, unique, sku="FIRST", price=8.5, quantity=3)
    stored = rows_mentioning(db, first["name"])
    response = authed_api.post(
        "/v1/items", json={"name": first["name"], "sku": "SECOND", "price": 99, "quantity": 50}
    )
    assert_error(response, 409, "conflict")
    assert count_named(api, first["name"]) == 1
    assert read_item(api, first["id"]) == first
    assert rows_mentioning(db, first["name"]) == stored


@pytest.mark.rules("name-unique")
def test_name_uniqueness_is_case_sensitive(api, authed_api, unique):
    name = unique("Case")
    lower = new_item(authed_api, unique, name=name.lower())
    upper = new_item(authed_api, unique, name=name.upper())
    assert lower["id"] != upper["id"]
    assert count_named(api, name.lower()) == 1
    assert count_named(api, name.upper()) == 1


@pytest.mark.rules("name-unique", "delete-204")
def test_name_of_a_deleted_item_can_be_used_again(api, authed_api, unique):
    item = new_item(authed_api, unique)
    assert authed_api.delete(f"/v1/items/{item['id']}").status_code == 204
    again = new_item(authed_api, unique, name=item["name"])
    assert again["id"] != item["id"]
    assert count_named(api, item["name"]) == 1


@pytest.mark.rules("stored-postgres")
def test_created_item_is_stored_in_the_database(authed_api, unique, db):
    item = new_item(authed_api, unique, sku=unique("sku")[:60])
    assert rows_mentioning(db, item["name"]) >= 1
    assert rows_mentioning(db, item["sku"]) >= 1


@pytest.mark.rules("rejected-changes-nothing", "write-401-any-body")
def test_rejected_creates_store_nothing(client_factory, authed_api, unique, db):
    anonymous = client_factory()
    rejected = [
        (authed_api, {"name": unique("r422"), "price": -1, "quantity": 1}, 422),
        (authed_api, {"name": unique("r422"), "price": 1, "quantity": -1}, 422),
        (anonymous, {"name": unique("r401"), "price": 1, "quantity": 1}, 401),
    ]
    for client, body, status in rejected:
        assert client.post("/v1/items", json=body).status_code == status
        assert rows_mentioning(db, body["name"]) == 0, body


@pytest.mark.rules("name-verbatim", "patch-200", "list-name-filter")
def test_names_with_quotes_and_sql_syntax_are_stored_verbatim(api, authed_api, unique):
    tricky = [
        "O'Brien's \"best\" -- widget",
        "x'); DROP TABLE items; --",
        "back\\slash %s %(name)s {0} ; '' \"",
    ]
    for text in tricky:
        name = unique("q")[:20] + text
        item = new_item(authed_api, unique, name=name, sku=text[:64])
        assert (item["name"], item["sku"]) == (name, text[:64])
        renamed = unique("r")[:20] + text
        response = authed_api.patch(f"/v1/items/{item['id']}", json={"name": renamed, "sku": text})
        assert response.status_code == 200, response.text
        assert read_item(api, item["id"])["name"] == renamed
        listed = api.get("/v1/items", params={"name": renamed})
        assert listed.status_code == 200, listed.text
        assert [i["id"] for i in listed.json()["items"]] == [item["id"]]
