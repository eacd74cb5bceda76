"""The public orders API: orders priced by the pricing service, validation, reading them."""

from __future__ import annotations

import pytest
from orders_kit import (
    QUEUE,
    assert_error,
    get_order,
    new_product,
    new_sku,
    order,
    pricing,  # noqa: F401 - a fixture
    put_price,
    stored,
)


@pytest.mark.rules("order-create", "order-price-from-pricing", "no-cache", "orders-table", "discount")
def test_an_order_is_priced_by_the_pricing_service_and_stored_pending(api, pricing, db):
    sku = new_product(pricing, 480)
    first = order(api, sku, 3)
    assert first["id"] >= 1
    assert {k: v for k, v in first.items() if k != "id"} == {
        "sku": sku, "quantity": 3, "unit_price_cents": 480, "total_cents": 1440,
        "status": "pending",
    }  # fmt: skip
    put_price(pricing, sku, 705)
    second = order(api, sku, 10)
    assert (second["unit_price_cents"], second["total_cents"]) == (705, 6345)
    assert second["id"] != first["id"]
    rows = stored(db, sku)
    assert [row[:4] for row in rows] == [
        (first["id"], 3, 480, 1440), (second["id"], 10, 705, 6345)
    ]  # fmt: skip
    assert get_order(api, first["id"])["unit_price_cents"] == 480


@pytest.mark.rules("client-fields-ignored")
def test_prices_and_fields_sent_by_the_client_are_ignored(api, pricing, db):
    sku = new_product(pricing, 1234)
    made = order(api, sku, 2, unit_price_cents=1, total_cents=1, status="fulfilled", id=987654321)
    assert (made["unit_price_cents"], made["total_cents"], made["status"]) == (1234, 2468, "pending")
    assert made["id"] != 987654321
    assert [row[2:4] for row in stored(db, sku)] == [(1234, 2468)]


@pytest.mark.rules("unknown-sku", "refused-stores-nothing")
def test_an_unknown_sku_is_refused_and_nothing_is_stored_or_queued(api, db, redis):
    sku = new_sku()
    before = redis.lrange(QUEUE, 0, -1)
    assert_error(api.post("/v1/orders", json={"sku": sku, "quantity": 1}), 422, "unknown_sku")
    assert stored(db, sku) == []
    assert not [m for m in redis.lrange(QUEUE, 0, -1) if m not in before]


BAD_BODIES = [
    {"quantity": 1},
    {"sku": "WIDGET-1"},
    {"sku": "", "quantity": 1},
    {"sku": "x" * 65, "quantity": 1},
    {"sku": "has space", "quantity": 1},
    {"sku": "WIDGET-1\u0000", "quantity": 1},
    {"sku": 5, "quantity": 1},
    {"sku": "WIDGET-1", "quantity": 0},
    {"sku": "WIDGET-1", "quantity": 1001},
    {"sku": "WIDGET-1", "quantity": 1.0},
    {"sku": "WIDGET-1", "quantity": "5"},
    {"sku": "WIDGET-1", "quantity": True},
    {"sku": "WIDGET-1", "quantity": None},
    ["WIDGET-1", 1],
    "WIDGET-1",
]


@pytest.mark.rules("order-validation", "body-json", "refused-stores-nothing")
@pytest.mark.parametrize("body", BAD_BODIES)
def test_an_invalid_order_body_is_422(api, db, body):
    before = db.scalar("SELECT count(*) FROM orders")
    assert_error(api.post("/v1/orders", json=body), 422, "validation_error")
    assert db.scalar("SELECT count(*) FROM orders") == before


@pytest.mark.rules("body-json", "content-type", "body-size", "fault-order")
def test_bodies_that_are_not_json_too_large_or_of_another_type_are_refused(api):
    json_type = {"Content-Type": "application/json"}
    for raw in (b"{bad", b'{"sku": "\xff", "quantity": 1}', b""):
        assert_error(api.post("/v1/orders", content=raw, headers=json_type), 422, "validation_error")
    good = b'{"sku": "WIDGET-1", "quantity": 1}'
    for media in ("text/plain", "application/x-www-form-urlencoded"):
        r = api.post("/v1/orders", content=good, headers={"Content-Type": media})
        assert_error(r, 415, "unsupported_media_type")
    assert_error(api.post("/v1/orders", content=good), 415, "unsupported_media_type")
    r = api.post("/v1/orders", content=good, headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 201, r.text
    padded = b'{"sku": "WIDGET-1", "quantity": 1, "pad": "' + b"a" * 65536 + b'"}'
    assert_error(api.post("/v1/orders", content=padded, headers=json_type), 413, "payload_too_large")
    chunks = iter([padded[:40000], padded[40000:]])  # no Content-Length: sent chunked
    assert_error(api.post("/v1/orders", content=chunks, headers=json_type), 413, "payload_too_large")
    head = b'{"sku": "WIDGET-1", "quantity": 1, "pad": "'
    fits = head + b"a" * (65536 - len(head) - 2) + b'"}'
    assert len(fits) == 65536
    assert api.post("/v1/orders", content=fits, headers=json_type).status_code == 201
    over = head + b"a" * (65537 - len(head) - 2) + b'"}'
    assert_error(api.post("/v1/orders", content=over, headers=json_type), 413, "payload_too_large")
    assert_error(api.post("/v1/orders", content=iter([over[:30000], over[30000:]]), headers=json_type),
                 413, "payload_too_large")  # fmt: skip
    # the order of faults: size, then type, then body, then the sku
    huge_text = b"x" * 70000
    assert_error(api.post("/v1/orders", content=huge_text, headers={"Content-Type": "text/plain"}),
                 413, "payload_too_large")  # fmt: skip
    assert_error(api.post("/v1/orders", content=b"{bad", headers={"Content-Type": "text/plain"}),
                 415, "unsupported_media_type")  # fmt: skip
    r = api.post("/v1/orders", json={"sku": new_sku(), "quantity": 0})
    assert_error(r, 422, "validation_error")


@pytest.mark.rules("get-order", "get-404")
def test_an_order_is_read_by_id_and_a_malformed_or_unknown_id_is_404(api, pricing, db):
    sku = new_product(pricing, 99)
    made = order(api, sku, 1)
    got = get_order(api, made["id"])
    assert {k: v for k, v in got.items() if k != "status"} == {
        k: v for k, v in made.items() if k != "status"
    }  # fmt: skip
    top = int(db.scalar("SELECT max(id) FROM orders"))
    for raw in (str(top + 1000), "abc", "0", "-1", "1.5", "9223372036854775808"):
        assert_error(api.get(f"/v1/orders/{raw}"), 404, "not_found")


@pytest.mark.rules("list", "list-422")
def test_the_orders_of_a_sku_are_listed_in_id_order_first_100(api, pricing):
    sku, other = new_product(pricing, 10), new_product(pricing, 10)
    made = [order(api, sku, 1 + i % 3)["id"] for i in range(101)]
    order(api, other, 1)
    r = api.get("/v1/orders", params={"sku": sku})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["id"] for i in items] == made[:100]
    assert all(i["sku"] == sku for i in items)
    assert api.get("/v1/orders", params={"sku": new_sku()}).json() == {"items": []}
    assert_error(api.get("/v1/orders"), 422, "validation_error")
    for bad in ("", "x" * 65, "a b", "a'b"):
        assert_error(api.get("/v1/orders", params={"sku": bad}), 422, "validation_error")
