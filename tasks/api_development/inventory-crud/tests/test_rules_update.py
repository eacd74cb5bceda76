"""Reading, partially updating and deleting one item; every rejection leaves it as it was."""

from __future__ import annotations

import random

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


def never_used_id() -> int:
    return 3_000_000_000 + random.randint(0, 10**9)  # noqa: S311


@pytest.mark.rules("get-item", "item-six-fields", "reads-public")
def test_get_returns_the_item_with_all_six_fields(api, authed_api, unique):
    item = new_item(authed_api, unique, sku="G-1", price=3.25, quantity=4)
    got = read_item(api, item["id"])
    assert_item(got)
    assert {k: got[k] for k in FIELDS} == {k: item[k] for k in FIELDS}


@pytest.mark.rules("error-404", "get-item")
def test_unknown_id_is_404_for_get_patch_and_delete(api, authed_api):
    missing = never_used_id()
    assert_error(api.get(f"/v1/items/{missing}"), 404, "not_found")
    assert_error(authed_api.patch(f"/v1/items/{missing}", json={"quantity": 1}), 404, "not_found")
    assert_error(authed_api.delete(f"/v1/items/{missing}"), 404, "not_found")


@pytest.mark.rules("patch-partial", "patch-200", "item-six-fields")
def test_patch_of_each_field_changes_only_that_field(api, authed_api, unique):
    item = new_item(authed_api, unique, sku="P-1", price=8.75, quantity=1)
    changes = [{"name": unique("renamed")}, {"sku": "P-2"}, {"price": 19.5}, {"quantity": 42}]
    expected = {k: item[k] for k in FIELDS}
    for change in changes:
        response = authed_api.patch(f"/v1/items/{item['id']}", json=change)
        assert response.status_code == 200, response.text
        expected.update(change)
        assert_item(response.json())
        assert {k: response.json()[k] for k in FIELDS} == expected, change
        assert {k: read_item(api, item["id"])[k] for k in FIELDS} == expected, change


@pytest.mark.rules("patch-partial", "patch-200")
def test_patch_with_an_empty_body_changes_nothing(api, authed_api, unique):
    item = new_item(authed_api, unique, sku="E-1")
    response = authed_api.patch(f"/v1/items/{item['id']}", json={})
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in FIELDS} == {k: item[k] for k in FIELDS}
    assert read_item(api, item["id"]) == item


@pytest.mark.rules("unknown-fields-ignored", "patch-partial")
def test_patch_ignores_unknown_fields(api, authed_api, unique):
    item = new_item(authed_api, unique, quantity=5)
    response = authed_api.patch(
        f"/v1/items/{item['id']}", json={"colour": "blue", "id": never_used_id(), "quantity": 6}
    )
    assert response.status_code == 200, response.text
    assert response.json()["id"] == item["id"]
    assert read_item(api, item["id"]) == {**item, "quantity": 6}


@pytest.mark.rules("patch-null")
def test_patch_sku_null_clears_it(api, authed_api, unique):
    item = new_item(authed_api, unique, sku="CLEAR-ME")
    response = authed_api.patch(f"/v1/items/{item['id']}", json={"sku": None})
    assert response.status_code == 200, response.text
    assert response.json()["sku"] is None
    assert read_item(api, item["id"]) == {**item, "sku": None}


@pytest.mark.rules("patch-null", "rejected-changes-nothing", "error-422")
def test_patch_null_name_price_or_quantity_is_422(api, authed_api, unique):
    item = new_item(authed_api, unique, sku="N-1", price=6.5, quantity=3)
    for field in ("name", "price", "quantity"):
        response = authed_api.patch(f"/v1/items/{item['id']}", json={field: None})
        assert_error(response, 422, "validation_error")
    assert read_item(api, item["id"]) == item


@pytest.mark.rules("patch-validation", "rejected-changes-nothing", "error-422")
def test_patch_rejects_every_out_of_range_value(api, authed_api, unique):
    item = new_item(authed_api, unique, sku="V-1", price=6.5, quantity=3)
    bad = [
        {"name": ""},
        {"name": unique("n")[:34] + "é" * 67},
        {"sku": ""},
        {"sku": "K" * 65},
        {"price": 0},
        {"price": -1.5},
        {"quantity": -1},
        {"quantity": MAX_QUANTITY + 1},
        {"quantity": 2.5},
        {"name": 7},
        {"price": "cheap"},
    ]
    for change in bad:
        assert_error(
            authed_api.patch(f"/v1/items/{item['id']}", json=change), 422, "validation_error"
        )
    assert read_item(api, item["id"]) == item


@pytest.mark.rules("patch-validation", "name-length", "sku-optional", "quantity-range")
def test_patch_accepts_the_boundary_values(api, authed_api, unique):
    item = new_item(authed_api, unique)
    good = [
        {"name": unique("n")[:34] + "é" * 66},
        {"sku": "K" * 64},
        {"sku": "S"},
        {"price": 0.01},
        {"quantity": 0},
        {"quantity": MAX_QUANTITY},
    ]
    for change in good:
        response = authed_api.patch(f"/v1/items/{item['id']}", json=change)
        assert response.status_code == 200, (change, response.text)
        got = read_item(api, item["id"])
        assert {k: got[k] for k in change} == change


@pytest.mark.rules("rejected-changes-nothing", "patch-validation")
def test_patch_with_one_invalid_field_applies_none_of_them(api, authed_api, unique, db):
    item = new_item(authed_api, unique, sku="M-1", price=6.5, quantity=3)
    new_name = unique("never")
    for body in (
        {"quantity": 9, "price": 0},
        {"name": new_name, "sku": "M-2", "quantity": 9, "price": 0},
        {"name": new_name, "quantity": -1},
        {"sku": "M-2", "price": 4, "name": ""},
    ):
        assert_error(authed_api.patch(f"/v1/items/{item['id']}", json=body), 422, "validation_error")
    assert read_item(api, item["id"]) == item
    assert count_named(api, new_name) == 0
    assert rows_mentioning(db, new_name) == 0


@pytest.mark.rules("error-409", "name-unique", "rejected-changes-nothing")
def test_patch_to_another_items_name_is_409_and_changes_nothing(api, authed_api, unique):
    first = new_item(authed_api, unique)
    second = new_item(authed_api, unique, sku="C-1", price=2.5, quantity=8)
    response = authed_api.patch(
        f"/v1/items/{second['id']}", json={"name": first["name"], "quantity": 99, "sku": None}
    )
    assert_error(response, 409, "conflict")
    assert read_item(api, second["id"]) == second
    assert read_item(api, first["id"]) == first
    assert count_named(api, first["name"]) == 1


@pytest.mark.rules("error-409", "name-unique")
def test_patch_keeping_its_own_name_is_not_a_conflict(api, authed_api, unique):
    item = new_item(authed_api, unique, quantity=1)
    response = authed_api.patch(f"/v1/items/{item['id']}", json={"name": item["name"], "quantity": 2})
    assert response.status_code == 200, response.text
    assert read_item(api, item["id"]) == {**item, "quantity": 2}


@pytest.mark.rules("name-unique")
def test_renamed_items_old_name_is_free_again(api, authed_api, unique):
    item = new_item(authed_api, unique)
    old = item["name"]
    response = authed_api.patch(f"/v1/items/{item['id']}", json={"name": unique("new")})
    assert response.status_code == 200, response.text
    new_item(authed_api, unique, name=old)
    assert count_named(api, old) == 1


@pytest.mark.rules("error-404", "rejected-changes-nothing")
def test_patch_of_a_deleted_item_is_404_and_does_not_recreate_it(api, authed_api, unique, db):
    item = new_item(authed_api, unique)
    assert authed_api.delete(f"/v1/items/{item['id']}").status_code == 204
    new_name = unique("ghost")
    response = authed_api.patch(
        f"/v1/items/{item['id']}", json={"name": new_name, "price": 2, "quantity": 2}
    )
    assert_error(response, 404, "not_found")
    assert_error(api.get(f"/v1/items/{item['id']}"), 404, "not_found")
    assert count_named(api, new_name) == 0
    assert rows_mentioning(db, new_name) == 0


@pytest.mark.rules("delete-204", "error-404")
def test_delete_answers_204_empty_then_the_item_is_gone(api, authed_api, unique):
    item = new_item(authed_api, unique)
    keep = new_item(authed_api, unique)
    response = authed_api.delete(f"/v1/items/{item['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(api.get(f"/v1/items/{item['id']}"), 404, "not_found")
    assert count_named(api, item["name"]) == 0
    assert_error(authed_api.delete(f"/v1/items/{item['id']}"), 404, "not_found")
    assert read_item(api, keep["id"]) == keep
