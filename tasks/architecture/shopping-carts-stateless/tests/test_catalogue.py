"""Products: the staff's PUT, reads, the search and its rate limit per client id."""

from __future__ import annotations

import uuid

import pytest
from carts_api import SEARCH_LIMIT, assert_error, new_sku, shop  # noqa: F401 - a fixture


@pytest.mark.rules("health")
def test_health_answers_ok(api):
    response = api.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.rules("product-put", "product-get", "bearer-scheme")
def test_a_put_creates_then_replaces_the_product(shop, api, db):
    sku = new_sku()
    first = shop.put_product(sku, "Green tea", 450)
    assert first.status_code == 201, first.text
    assert first.json() == {"sku": sku, "name": "Green tea", "price_cents": 450}
    assert api.get(f"/v1/products/{sku}").json() == first.json()
    # the scheme word in any letter case; replaced, not added
    again = api.put(f"/v1/products/{sku}", json={"name": "Green tea, loose", "price_cents": 520},
                    headers={"Authorization": shop.staff_headers["Authorization"].replace(
                        "Bearer", "bEARER")})  # fmt: skip
    assert again.status_code == 200, again.text
    assert again.json() == {"sku": sku, "name": "Green tea, loose", "price_cents": 520}
    assert api.get(f"/v1/products/{sku}").json() == again.json()
    assert_error(api.get(f"/v1/products/{new_sku()}"), 404, "product_not_found")
    assert_error(api.get("/v1/products/not-upper"), 404, "product_not_found")


@pytest.mark.rules("product-auth", "fault-order", "refused-changes-nothing")
def test_a_put_without_the_secret_is_401_and_changes_nothing(shop, api, app_secret):
    sku, name, price = shop.product()
    for headers in ({}, {"Authorization": f"Basic {app_secret}"},
                    {"Authorization": f"Bearer {app_secret}x"}, {"Authorization": "Bearer"},
                    {"Authorization": f"Bearer  {app_secret}"}):
        # 401 comes before the body's faults
        for body in ({"name": "Stolen", "price_cents": 1}, {"price_cents": "free"}):
            response = api.put(f"/v1/products/{sku}", json=body, headers=headers)
            assert_error(response, 401, "unauthorized")
    assert api.get(f"/v1/products/{sku}").json() == {"sku": sku, "name": name, "price_cents": price}
    assert_error(api.put(f"/v1/products/{new_sku()}", json={"name": "x", "price_cents": 5}),
                 401, "unauthorized")  # fmt: skip


@pytest.mark.rules("product-validation", "product-name", "integers", "body-json", "unknown-fields",
                   "refused-changes-nothing")
def test_invalid_products_are_422_and_change_nothing(shop, api):
    sku, name, price = shop.product()
    staff = shop.staff_headers
    bodies = [
        {"name": "", "price_cents": 100},
        {"name": "x" * 101, "price_cents": 100},
        {"name": "nul\u0000inside", "price_cents": 100},
        {"name": 5, "price_cents": 100},
        {"price_cents": 100},
        {"name": "Tea", "price_cents": 0},
        {"name": "Tea", "price_cents": 10_000_001},
        {"name": "Tea", "price_cents": 1.0},
        {"name": "Tea", "price_cents": "5"},
        {"name": "Tea", "price_cents": True},
        {"name": "Tea"},
        [{"name": "Tea", "price_cents": 100}],
    ]
    for body in bodies:
        assert_error(api.put(f"/v1/products/{sku}", json=body, headers=staff), 422,
                     "validation_error")  # fmt: skip
    for raw in (b"{not json", b'{"name": "Tea", "price_cents": 100', b"\xff\xfe"):
        response = api.put(f"/v1/products/{sku}", content=raw,
                           headers={**staff, "Content-Type": "application/json"})  # fmt: skip
        assert_error(response, 422, "validation_error")
    lone = b'{"name": "bad \\ud800 name", "price_cents": 100}'
    assert_error(api.put(f"/v1/products/{sku}", content=lone,
                         headers={**staff, "Content-Type": "application/json"}),
                 422, "validation_error")  # fmt: skip
    assert api.get(f"/v1/products/{sku}").json() == {"sku": sku, "name": name, "price_cents": price}
    # skus that do not match the pattern; the edges that do
    for bad in ("lower-case", "A" * 33, "WITH_UNDERSCORE", "DOT.TED"):
        assert_error(shop.put_product(bad, "Tea", 100), 422, "validation_error")
    edge = "A" + new_sku()[2:] + "9" * 9
    assert len(edge) == 32
    assert shop.put_product(edge, "x" * 100, 10_000_000).status_code == 201
    assert shop.put_product(new_sku(), "x", 1).status_code == 201
    # unknown fields are ignored
    extra = new_sku()
    response = api.put(f"/v1/products/{extra}", json={"name": "Tea", "price_cents": 1,
                                                      "sku": "OTHER", "id": 9}, headers=staff)
    assert response.status_code == 201 and response.json()["sku"] == extra, response.text


@pytest.mark.rules("search", "search-order")
def test_the_search_matches_names_case_insensitively_in_sku_order(shop):
    tag = uuid.uuid4().hex[:10]
    skus = sorted(new_sku() for _ in range(3))
    names = [f"Dark {tag.upper()} roast", f"mild {tag} blend", f"{tag.title()} decaf"]
    for sku, name in zip(reversed(skus), names, strict=True):
        shop.put_product(sku, name, 300, expect=201)
    shop.product(name="Something else entirely")
    response = shop.search(f"client-{uuid.uuid4().hex}", q=tag.upper())
    assert response.status_code == 200, response.text
    assert [p["sku"] for p in response.json()["items"]] == skus
    everything = shop.search(f"client-{uuid.uuid4().hex}")
    items = everything.json()["items"]
    assert 1 <= len(items) <= 100 and [p["sku"] for p in items] == sorted(p["sku"] for p in items)


@pytest.mark.rules("search-client-id", "search-422-not-counted")
def test_a_search_without_a_valid_client_id_is_422_and_not_counted(shop):
    for bad in (None, "", "x" * 65, "has space", "tab\there"):
        assert_error(shop.search(bad), 422, "validation_error")
    client = "Pr!ntable~" + "#" * 20 + uuid.uuid4().hex[:30]
    assert len(client) <= 64
    for _ in range(5):
        assert_error(shop.search(client, q="x" * 101), 422, "validation_error")
    assert_error(shop.search(client, q=""), 422, "validation_error")
    # none of the 422s was counted: the whole budget is left
    for _ in range(SEARCH_LIMIT):
        assert shop.search(client).status_code == 200
    assert_error(shop.search(client), 429, "rate_limited")


def assert_limited(response):
    assert_error(response, 429, "rate_limited")
    retry = response.headers.get("Retry-After", "")
    assert retry.isdigit() and 1 <= int(retry) <= 60, retry


@pytest.mark.rules("rate-limit", "retry-after", "rate-limit-shared", "rate-limit-per-client")
def test_the_search_budget_is_shared_by_every_instance(shop):
    client, neighbour = f"c-{uuid.uuid4().hex}", f"c-{uuid.uuid4().hex}"
    other = shop.second()
    for n in range(SEARCH_LIMIT):
        response = shop.search(client, client=shop.main if n % 2 else other)
        assert response.status_code == 200, (n, response.text[:200])
    assert_limited(shop.search(client))
    assert_limited(shop.search(client, client=other))
    assert_limited(shop.search(client, q="tea", client=other))
    # another client id has a budget of its own
    assert shop.search(neighbour, client=other).status_code == 200
    assert shop.search(neighbour).status_code == 200


@pytest.mark.rules("rate-limit-per-client")
def test_look_alike_client_ids_have_budgets_of_their_own(shop):
    client = f"c-{uuid.uuid4().hex}"
    for _ in range(SEARCH_LIMIT):
        assert shop.search(client).status_code == 200
    assert_limited(shop.search(client))
    for alike in (client[:-4] + "*", client[:-1] + "?", client[:-1] + "[0-9a-f]", client + ":x",
                  client.upper(), client[:-1]):  # fmt: skip
        assert shop.search(alike).status_code == 200, alike


@pytest.mark.rules("search", "search-order")
def test_the_search_answers_at_most_100_products(shop):
    tag = uuid.uuid4().hex[:12]
    skus = sorted(new_sku() for _ in range(103))
    for n, sku in enumerate(skus):
        shop.put_product(sku, f"Bulk {tag} item {n}", 100 + n, expect=201)
    response = shop.search(f"bulk-{tag}", q=f"BULK {tag.upper()}")
    assert response.status_code == 200, response.text[:300]
    assert [p["sku"] for p in response.json()["items"]] == skus[:100]
