"""The items API with both dependencies up: create, read, lookup, cache, errors."""

import json
import random
import uuid

import pytest
from items_kit import assert_error, create, item_in

BEARER_WRONG = "Bearer wrong-token-0123456789"


def stored(db, sku):
    return db.scalar("SELECT count(*) FROM items WHERE sku = %s", (sku,))


@pytest.mark.rules("health-ok", "ready-up")
def test_health_is_200_ok_and_ready_is_200_with_both_checks_up(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    response = api.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "checks": {"postgres": "up", "redis": "up"}}


@pytest.mark.rules("create-201", "cache-key", "exact-text")
def test_a_create_answers_201_stores_the_item_and_caches_it(authed_api, api, db, redis, unique):
    item = create(authed_api, unique, name=unique("Widget ✓ ") + "  ")
    row = db.execute(
        "SELECT id, sku, name, quantity FROM items WHERE id = %s", (item["id"],)
    ).fetchone()
    assert row == (item["id"], item["sku"], item["name"], item["quantity"])
    cached = redis.get(f"item:{item['id']}")
    assert cached is not None, "a created item is not cached under item:{id}"
    assert json.loads(cached) == item
    assert 0 < redis.ttl(f"item:{item['id']}") <= 300
    response = api.get(f"/v1/items/{item['id']}")
    assert response.status_code == 200
    assert response.json() == item


@pytest.mark.rules("read-cache", "cache-key")
def test_a_read_caches_a_miss_and_serves_a_cached_value_as_is(api, db, redis, unique):
    sku = unique("sku")
    item_id = db.scalar(
        "INSERT INTO items (sku, name, quantity) VALUES (%s, 'plain', 3) RETURNING id", (sku,)
    )
    redis.delete(f"item:{item_id}")
    expected = {"id": item_id, "sku": sku, "name": "plain", "quantity": 3}
    response = api.get(f"/v1/items/{item_id}")
    assert response.status_code == 200, response.text
    assert response.json() == expected
    assert json.loads(redis.get(f"item:{item_id}")) == expected
    assert 0 < redis.ttl(f"item:{item_id}") <= 300
    # what item:{id} holds is what the service serves
    planted = {**expected, "name": "from-the-cache"}
    redis.set(f"item:{item_id}", json.dumps(planted), ex=300)
    assert api.get(f"/v1/items/{item_id}").json() == planted


@pytest.mark.rules("create-validation", "error-body")
def test_invalid_creates_are_422_and_store_nothing(
    authed_api, client_factory, auth_headers, db, unique
):
    sku = unique("sku")
    bad_bodies = [
        {"name": "n", "quantity": 1},
        {"sku": sku, "quantity": 1},
        {"sku": sku, "name": "n"},
        {"sku": "", "name": "n", "quantity": 1},
        {"sku": sku, "name": "", "quantity": 1},
        {"sku": sku + "x" * 64, "name": "n", "quantity": 1},
        {"sku": sku, "name": "n" * 201, "quantity": 1},
        {"sku": sku, "name": "n", "quantity": -1},
        {"sku": sku, "name": "n", "quantity": 1_000_001},
        {"sku": sku, "name": "n", "quantity": 1.0},
        {"sku": sku, "name": "n", "quantity": "5"},
        {"sku": 12, "name": "n", "quantity": 1},
        {"sku": sku, "name": "nul\u0000name", "quantity": 1},
        {"sku": sku + "\u0000", "name": "n", "quantity": 1},
        [sku, "n", 1],
    ]
    for body in bad_bodies:
        assert_error(authed_api.post("/v1/items", json=body), 422, "validation_error")
    headers = {**auth_headers, "Content-Type": "application/json"}
    for raw in (b'{"sku": ', b'{"sku": "caf\xe9", "name": "n", "quantity": 1}'):
        with client_factory(headers=headers) as client:
            assert_error(client.post("/v1/items", content=raw), 422, "validation_error")
    assert stored(db, sku) == 0
    # fields not listed are ignored
    item = create(authed_api, unique, colour="red", id=999999999)
    assert "colour" not in item and item["id"] != 999999999


@pytest.mark.rules("create-409", "error-body")
def test_a_duplicate_sku_is_409_conflict_and_stores_nothing(authed_api, db, unique):
    item = create(authed_api, unique)
    response = authed_api.post("/v1/items", json={**item_in(unique), "sku": item["sku"]})
    assert_error(response, 409, "conflict")
    assert stored(db, item["sku"]) == 1


@pytest.mark.rules("auth-required", "error-body")
def test_a_create_needs_the_exact_bearer_token(api, db, unique, app_secret):
    body = item_in(unique)
    wrong = (BEARER_WRONG, f"bearer {app_secret}", app_secret, f"Bearer {app_secret}x")
    for headers in ({}, *({"Authorization": value} for value in wrong)):
        assert_error(api.post("/v1/items", json=body, headers=headers), 401, "unauthorized")
    # checked before the body
    assert_error(api.post("/v1/items", json={"sku": ""}), 401, "unauthorized")
    assert stored(db, body["sku"]) == 0


@pytest.mark.rules("read-404", "error-body")
def test_an_unknown_or_malformed_item_id_is_404(api, db):
    missing = db.scalar("SELECT coalesce(max(id), 0) + 1000000 FROM items")
    for item_id in (missing, "abc", "0", "-1", "1.5", "9223372036854775808", "1e3"):
        assert_error(api.get(f"/v1/items/{item_id}"), 404, "not_found")


@pytest.mark.rules("find-by-sku", "error-body")
def test_a_lookup_by_sku_answers_exactly_that_item_or_none(api, authed_api, unique):
    item = create(authed_api, unique)
    other = create(authed_api, unique)
    response = api.get("/v1/items", params={"sku": item["sku"]})
    assert response.status_code == 200
    assert response.json() == {"items": [item]}
    assert other not in response.json()["items"]
    for sku in (unique("none"), item["sku"][:-1], item["sku"] + "%", item["sku"].upper()):
        response = api.get("/v1/items", params={"sku": sku})
        assert response.status_code == 200, response.text
        assert response.json() == {"items": []}, sku
    for query in ("", "?sku=", "?sku=" + "x" * 65, "?sku=a%00b"):
        assert_error(api.get(f"/v1/items{query}"), 422, "validation_error")


@pytest.mark.rules("create-201", "find-by-sku", "exact-text")
def test_the_lengths_at_the_limits_are_accepted(authed_api, api, db):
    rnd = random.Random()
    # one character (a random CJK ideograph: no other test or run picks the same), and 64
    for sku in (chr(rnd.randrange(0x4E00, 0x9FA5)), ("s" + uuid.uuid4().hex * 2)[:64]):
        name = "n" * rnd.choice((1, 200))
        body = {"sku": sku, "name": name, "quantity": rnd.choice((0, 1_000_000))}
        response = authed_api.post("/v1/items", json=body)
        assert response.status_code == 201, (body, response.text)
        item = response.json()
        assert item == {"id": item["id"], **body}
        assert api.get("/v1/items", params={"sku": sku}).json() == {"items": [item]}
    for name in ("n", "n" * 200):
        item = authed_api.post(
            "/v1/items", json={"sku": uuid.uuid4().hex, "name": name, "quantity": 1}
        ).json()
        assert item["name"] == name


@pytest.mark.rules("read-404", "read-cache")
def test_the_first_and_the_largest_ids_are_read(api, authed_api, db, redis, unique):
    create(authed_api, unique)  # the ids the service generates are past 1 from here on
    largest = 9223372036854775807
    for item_id in (1, largest):
        db.execute(
            "INSERT INTO items (id, sku, name, quantity) OVERRIDING SYSTEM VALUE"
            " VALUES (%s, %s, 'edge', 4) ON CONFLICT (id) DO NOTHING",
            (item_id, unique("edge")),
        )
        redis.delete(f"item:{item_id}")
        row = db.execute(
            "SELECT id, sku, name, quantity FROM items WHERE id = %s", (item_id,)
        ).fetchone()
        response = api.get(f"/v1/items/{item_id}")
        assert response.status_code == 200, response.text
        assert response.json() == dict(zip(("id", "sku", "name", "quantity"), row, strict=True))
