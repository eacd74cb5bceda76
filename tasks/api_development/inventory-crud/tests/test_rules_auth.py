"""Bearer authentication: every write refused without the exact token, whatever its body;
reads public; a refused write changes nothing."""

from __future__ import annotations

import pytest
from items_api import assert_error, count_named, new_item, read_item, rows_mentioning


def wrong_authorizations(secret: str) -> list[str]:
    return [
        "Bearer not-the-secret",
        f"Bearer {secret}x",
        f"Bearer x{secret}",
        f"Bearer {secret[:-1]}",
        f"Bearer {secret.upper() if secret.upper() != secret else secret.lower() + 'q'}",
        "Bearer",
        f"Basic {secret}",
        secret,
    ]


@pytest.mark.rules("writes-need-token", "write-401-any-body", "error-401", "rejected-changes-nothing")
def test_create_without_token_is_401_whatever_the_body(api, unique, db):
    name = unique("anon")
    for body in ({"name": name, "price": 1, "quantity": 1}, {"name": name, "price": -1}, {}):
        assert_error(api.post("/v1/items", json=body), 401, "unauthorized")
    assert count_named(api, name) == 0
    assert rows_mentioning(db, name) == 0


@pytest.mark.rules("writes-need-token", "write-401-any-body", "error-401", "rejected-changes-nothing")
def test_patch_without_token_is_401_whatever_the_body(api, authed_api, unique):
    item = new_item(authed_api, unique, sku="A-1", quantity=2)
    url = f"/v1/items/{item['id']}"
    for body in ({"quantity": 9}, {"sku": None}, {"name": unique("stolen")}, {"price": -1}, {}):
        assert_error(api.patch(url, json=body), 401, "unauthorized")
    assert read_item(api, item["id"]) == item


@pytest.mark.rules("writes-need-token", "error-401", "rejected-changes-nothing")
def test_delete_without_token_is_401_and_keeps_the_item(api, authed_api, unique):
    item = new_item(authed_api, unique)
    assert_error(api.delete(f"/v1/items/{item['id']}"), 401, "unauthorized")
    assert read_item(api, item["id"]) == item


@pytest.mark.rules("writes-need-token", "error-401")
def test_writes_to_unknown_items_without_token_are_401(api):
    missing = 3_999_999_999
    assert_error(api.patch(f"/v1/items/{missing}", json={"quantity": 1}), 401, "unauthorized")
    assert_error(api.delete(f"/v1/items/{missing}"), 401, "unauthorized")


@pytest.mark.rules("write-401-any-body", "error-401", "rejected-changes-nothing")
def test_every_write_refuses_a_wrong_token(api, client_factory, authed_api, app_secret, unique, db):
    item = new_item(authed_api, unique, sku="W-1", quantity=2)
    url = f"/v1/items/{item['id']}"
    for authorization in wrong_authorizations(app_secret):
        client = client_factory(headers={"Authorization": authorization})
        name = unique("wrong")
        body = {"name": name, "price": 1, "quantity": 1}
        assert_error(client.post("/v1/items", json=body), 401, "unauthorized")
        assert_error(client.patch(url, json={"quantity": 7}), 401, "unauthorized")
        assert_error(client.delete(url), 401, "unauthorized")
        assert rows_mentioning(db, name) == 0, authorization
    assert read_item(api, item["id"]) == item


@pytest.mark.rules("reads-public")
def test_reads_need_no_token(api, authed_api, unique):
    item = new_item(authed_api, unique)
    assert api.get(f"/v1/items/{item['id']}").status_code == 200
    listed = api.get("/v1/items", params={"name": item["name"]})
    assert listed.status_code == 200
    assert listed.json()["total"] == 1
    assert api.get("/health").status_code == 200
