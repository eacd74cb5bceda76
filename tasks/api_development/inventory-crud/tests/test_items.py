import random
from datetime import datetime

import pytest


@pytest.fixture
def price_band():
    """A random price range no other test (or earlier run) is likely to use."""
    return float(random.randint(10_000_000, 900_000_000))  # noqa: S311


@pytest.fixture
def create_item(authed_api, unique):
    def _create(**fields):
        body = {"name": unique("item"), "price": 10.5, "quantity": 1}
        body.update(fields)
        r = authed_api.post("/v1/items", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    return _create


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body.get("error"), dict), body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"].get("message"), str), body


def list_band(api, base, **params):
    query = {"min_price": base, "max_price": base + 100}
    query.update(params)
    r = api.get("/v1/items", params=query)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.rules("health-ok")
def test_health_returns_ok(api):
    r = api.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


@pytest.mark.rules("create-201-location", "created-at-format")
def test_create_item_returns_201_body_and_location(api, auth_headers, unique):
    name = unique("item")
    r = api.post(
        "/v1/items",
        json={"name": name, "sku": "SKU-42", "price": 12.5, "quantity": 7},
        headers=auth_headers,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert isinstance(body["id"], int)
    assert body["name"] == name
    assert body["sku"] == "SKU-42"
    assert body["price"] == 12.5
    assert body["quantity"] == 7
    datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
    assert r.headers.get("location", "").endswith(f"/v1/items/{body['id']}")
    fetched = api.get(r.headers["location"])
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["id"] == body["id"]


@pytest.mark.rules("get-item", "reads-public", "sku-optional")
def test_get_item_returns_created_item_without_auth(api, create_item):
    item = create_item(price=3.25, quantity=4)
    r = api.get(f"/v1/items/{item['id']}")
    assert r.status_code == 200, r.text
    got = r.json()
    for key in ("id", "name", "price", "quantity", "created_at"):
        assert got[key] == item[key]
    assert got["sku"] is None


@pytest.mark.rules("error-404", "delete-204")
def test_get_unknown_item_returns_404(api, create_item, auth_headers):
    item = create_item()
    assert api.delete(f"/v1/items/{item['id']}", headers=auth_headers).status_code == 204
    assert_error(api.get(f"/v1/items/{item['id']}"), 404, "not_found")


@pytest.mark.rules("price-positive", "rejected-changes-nothing")
def test_create_rejects_negative_price(api, auth_headers, unique):
    name = unique("item")
    r = api.post("/v1/items", json={"name": name, "price": -4.5, "quantity": 1}, headers=auth_headers)
    assert_error(r, 422, "validation_error")
    assert api.get("/v1/items", params={"name": name}).json()["total"] == 0


@pytest.mark.rules("name-length", "error-422")
def test_create_rejects_name_outside_1_to_100_chars(api, auth_headers):
    for bad in ("", "n" * 101):
        r = api.post("/v1/items", json={"name": bad, "price": 1, "quantity": 1}, headers=auth_headers)
        assert_error(r, 422, "validation_error")


@pytest.mark.rules("quantity-range")
def test_create_rejects_negative_quantity(api, auth_headers, unique):
    r = api.post(
        "/v1/items", json={"name": unique("item"), "price": 2, "quantity": -1}, headers=auth_headers
    )
    assert_error(r, 422, "validation_error")


@pytest.mark.rules("error-409", "name-unique")
def test_create_duplicate_name_returns_409(api, auth_headers, create_item):
    item = create_item()
    r = api.post(
        "/v1/items", json={"name": item["name"], "price": 5, "quantity": 2}, headers=auth_headers
    )
    assert_error(r, 409, "conflict")


@pytest.mark.rules("writes-need-token", "write-401-any-body", "error-401")
def test_create_requires_bearer_token(api, unique):
    name = unique("item")
    body = {"name": name, "price": 1.5, "quantity": 1}
    assert_error(api.post("/v1/items", json=body), 401, "unauthorized")
    wrong = {"Authorization": "Bearer not-the-secret"}
    assert_error(api.post("/v1/items", json=body, headers=wrong), 401, "unauthorized")
    assert api.get("/v1/items", params={"name": name}).json()["total"] == 0


@pytest.mark.rules("patch-partial")
def test_patch_updates_only_given_fields(api, auth_headers, create_item):
    item = create_item(sku="SKU-7", price=8.75, quantity=1)
    r = api.patch(f"/v1/items/{item['id']}", json={"quantity": 5}, headers=auth_headers)
    assert r.status_code == 200, r.text
    assert r.json()["quantity"] == 5
    got = api.get(f"/v1/items/{item['id']}").json()
    assert got["quantity"] == 5
    assert got["name"] == item["name"]
    assert got["sku"] == "SKU-7"
    assert got["price"] == 8.75


@pytest.mark.rules("patch-validation", "rejected-changes-nothing")
def test_patch_rejects_invalid_values(api, auth_headers, create_item):
    item = create_item(price=6.5, quantity=3)
    for change in ({"price": 0}, {"quantity": -2}, {"name": ""}):
        r = api.patch(f"/v1/items/{item['id']}", json=change, headers=auth_headers)
        assert_error(r, 422, "validation_error")
    got = api.get(f"/v1/items/{item['id']}").json()
    assert (got["price"], got["quantity"], got["name"]) == (6.5, 3, item["name"])


@pytest.mark.rules("error-409")
def test_patch_to_existing_name_returns_409(api, auth_headers, create_item):
    first = create_item()
    second = create_item()
    r = api.patch(f"/v1/items/{second['id']}", json={"name": first["name"]}, headers=auth_headers)
    assert_error(r, 409, "conflict")


@pytest.mark.rules("writes-need-token", "write-401-any-body")
def test_patch_and_delete_require_bearer_token(api, create_item):
    item = create_item(quantity=2)
    url = f"/v1/items/{item['id']}"
    assert_error(api.patch(url, json={"quantity": 9}), 401, "unauthorized")
    assert_error(api.delete(url), 401, "unauthorized")
    wrong = {"Authorization": "Bearer not-the-secret"}
    assert_error(api.delete(url, headers=wrong), 401, "unauthorized")
    got = api.get(url)
    assert got.status_code == 200
    assert got.json()["quantity"] == 2


@pytest.mark.rules("delete-204", "error-404")
def test_delete_item_returns_204_then_404(api, auth_headers, create_item):
    item = create_item()
    r = api.delete(f"/v1/items/{item['id']}", headers=auth_headers)
    assert r.status_code == 204
    assert r.content == b""
    assert_error(api.get(f"/v1/items/{item['id']}"), 404, "not_found")
    assert_error(api.delete(f"/v1/items/{item['id']}", headers=auth_headers), 404, "not_found")


@pytest.mark.rules("list-total", "list-echo", "list-offset")
def test_list_pagination_reports_total_limit_offset(api, create_item, price_band):
    ids = [create_item(price=price_band + i)["id"] for i in range(1, 6)]
    page = list_band(api, price_band, sort="price", limit=2, offset=2)
    assert page["total"] == 5
    assert page["limit"] == 2
    assert page["offset"] == 2
    assert [i["id"] for i in page["items"]] == ids[2:4]


@pytest.mark.rules("list-limit", "list-offset", "list-echo")
def test_list_defaults_to_limit_20_offset_0(api):
    page = api.get("/v1/items").json()
    assert page["limit"] == 20
    assert page["offset"] == 0
    assert len(page["items"]) <= 20
    assert page["total"] >= len(page["items"])


@pytest.mark.rules("list-name-filter")
def test_list_name_filter_is_exact_match(api, create_item, unique):
    name = unique("item")
    target = create_item(name=name)
    create_item(name=name + "-longer")
    create_item(name="pre-" + name)
    page = api.get("/v1/items", params={"name": name}).json()
    assert page["total"] == 1
    assert [i["id"] for i in page["items"]] == [target["id"]]


@pytest.mark.rules("list-price-filter")
def test_list_filters_by_inclusive_price_range(api, create_item, price_band):
    create_item(price=price_band + 1)
    mid = create_item(price=price_band + 5)
    top = create_item(price=price_band + 9)
    create_item(price=price_band + 12)
    page = api.get(
        "/v1/items",
        params={"min_price": price_band + 5, "max_price": price_band + 9, "sort": "price"},
    ).json()
    assert page["total"] == 2
    assert [i["id"] for i in page["items"]] == [mid["id"], top["id"]]


@pytest.mark.rules("list-sort")
def test_list_sorts_by_price_descending(api, create_item, price_band):
    a = create_item(price=price_band + 2)
    b = create_item(price=price_band + 1)
    c = create_item(price=price_band + 3)
    page = list_band(api, price_band, sort="-price")
    assert [i["id"] for i in page["items"]] == [c["id"], a["id"], b["id"]]
    page = list_band(api, price_band, sort="price")
    assert [i["id"] for i in page["items"]] == [b["id"], a["id"], c["id"]]


@pytest.mark.rules("list-422")
def test_list_rejects_invalid_sort(api):
    assert_error(api.get("/v1/items", params={"sort": "quantity"}), 422, "validation_error")


@pytest.mark.rules("list-422")
def test_list_rejects_limit_and_offset_out_of_range(api):
    for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}):
        assert_error(api.get("/v1/items", params=params), 422, "validation_error")
