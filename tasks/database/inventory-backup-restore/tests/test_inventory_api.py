"""The inventory API itself: auth, errors, warehouses, products, movements, tables."""

from datetime import datetime

import pytest

MAX_BIG = "9" * 25


def assert_error(response, status, code):
    assert response.status_code == status, (response.request.method, response.request.url,
                                            response.text)  # fmt: skip
    body = response.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def new_warehouse(api, unique, **extra):
    body = {"code": "W" + unique()[-31:], "name": "Main", **extra}
    r = api.post("/v1/warehouses", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def new_product(api, unique, **extra):
    body = {"sku": "S" + unique()[-40:], "name": "Widget", "price": "3.5", **extra}
    r = api.post("/v1/products", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def new_movement(api, warehouse, product, **extra):
    body = {"warehouse_id": warehouse["id"], "product_id": product["id"], "quantity": 4,
            "occurred_at": "2024-01-02T03:04:05.678901+02:00", **extra}  # fmt: skip
    r = api.post("/v1/movements", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def moment(text):
    parsed = datetime.fromisoformat(text)
    assert parsed.utcoffset() is not None, f"{text} has no offset"
    return parsed


def count(db, table, column, value):
    return db.scalar(f"SELECT count(*) FROM {table} WHERE {column} = %s", (value,))


@pytest.mark.rules("auth-required", "auth-exact", "auth-first", "health-open", "error-body")
def test_every_endpoint_refuses_a_missing_or_wrong_token_and_changes_nothing(
    api, authed_api, client_factory, app_secret, unique, db
):
    assert api.get("/health").status_code == 200
    assert api.get("/health").json() == {"status": "ok"}
    warehouse = new_warehouse(authed_api, unique)
    product = new_product(authed_api, unique)
    movement = new_movement(authed_api, warehouse, product)
    doc = authed_api.get("/v1/admin/backup").json()
    empty = {"format": "inventory-backup", "version": 1,
             "tables": {"warehouses": [], "products": [], "stock_movements": []}}  # fmt: skip
    code = "W" + unique()[-31:]
    calls = [
        ("POST", "/v1/warehouses", {"code": code, "name": "n"}),
        ("GET", f"/v1/warehouses/{warehouse['id']}", None),
        ("DELETE", f"/v1/warehouses/{warehouse['id']}", None),
        ("POST", "/v1/products", {"sku": code, "name": "n", "price": "1"}),
        ("GET", "/v1/products", None),
        ("GET", f"/v1/products/{product['id']}", None),
        ("PATCH", f"/v1/products/{product['id']}", {"name": "hacked"}),
        ("DELETE", f"/v1/products/{product['id']}", None),
        ("POST", "/v1/movements", {"warehouse_id": warehouse["id"], "product_id": product["id"],
                                   "quantity": 1, "occurred_at": "2024-01-01T00:00:00Z"}),
        ("GET", f"/v1/movements/{movement['id']}", None),
        ("DELETE", f"/v1/movements/{movement['id']}", None),
        ("GET", "/v1/admin/backup", None),
        ("POST", "/v1/admin/restore", empty),
        ("POST", "/v1/warehouses", {"code": ""}),  # invalid too: still 401 first
        ("GET", "/v1/products/abc", None),
    ]
    headers = [{}, {"Authorization": "Bearer wrong-" + app_secret[:4]},
               {"Authorization": "bearer " + app_secret},
               {"Authorization": "Token " + app_secret},
               {"Authorization": "Bearer " + app_secret + "x"}]  # fmt: skip
    for header in headers:
        client = client_factory(headers=header)
        for method, path, body in calls:
            assert_error(client.request(method, path, json=body), 401, "unauthorized")
    assert count(db, "warehouses", "code", code) == 0
    assert count(db, "products", "sku", code) == 0
    assert authed_api.get(f"/v1/products/{product['id']}").json() == product
    assert authed_api.get(f"/v1/movements/{movement['id']}").json() == movement
    assert authed_api.get("/v1/admin/backup").json()["tables"]["stock_movements"][-1]["id"] >= (
        doc["tables"]["stock_movements"][-1]["id"]
    )


@pytest.mark.rules("wh-create", "wh-code-unique", "wh-get", "path-id-404", "text-unicode")
def test_warehouse_is_created_read_and_its_code_is_unique(authed_api, unique, db):
    code = "Wü" + unique()[-30:]
    name = "Entrepôt 🏭 " + "x" * 180
    r = authed_api.post("/v1/warehouses", json={"code": code, "name": name})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["code"] == code and made["name"] == name and made["address"] is None
    assert isinstance(made["id"], int) and made["id"] >= 1
    assert abs((moment(made["created_at"]) - datetime.now(moment(made["created_at"]).tzinfo))
               .total_seconds()) < 120  # fmt: skip
    assert authed_api.get(f"/v1/warehouses/{made['id']}").json() == made
    assert db.scalar("SELECT name FROM warehouses WHERE id = %s", (made["id"],)) == name
    assert_error(
        authed_api.post("/v1/warehouses", json={"code": code, "name": "again"}), 409, "conflict"
    )
    assert count(db, "warehouses", "code", code) == 1
    with_address = new_warehouse(authed_api, unique, address="Rua São João, 12")
    assert with_address["address"] == "Rua São João, 12"
    for bad in ("abc", "0", "-1", "1.5", MAX_BIG):
        assert_error(authed_api.get(f"/v1/warehouses/{bad}"), 404, "not_found")
        assert_error(authed_api.get(f"/v1/products/{bad}"), 404, "not_found")
        assert_error(authed_api.get(f"/v1/movements/{bad}"), 404, "not_found")
    gone = new_warehouse(authed_api, unique)
    assert authed_api.delete(f"/v1/warehouses/{gone['id']}").status_code == 204
    assert_error(authed_api.get(f"/v1/warehouses/{gone['id']}"), 404, "not_found")
    assert_error(authed_api.delete(f"/v1/warehouses/{gone['id']}"), 404, "not_found")


@pytest.mark.rules("validation-422", "wh-fields", "pr-fields", "money-format", "error-body")
def test_invalid_warehouse_and_product_bodies_are_refused_and_store_nothing(
    authed_api, unique, db
):
    code = "W" + unique()[-31:]
    for body in [
        {"name": "no code"},
        {"code": code},
        {"code": "   ", "name": "n"},
        {"code": "x" * 41, "name": "n"},
        {"code": code, "name": "   "},
        {"code": code, "name": "x" * 201},
        {"code": code, "name": "n", "address": "x" * 501},
        {"code": code, "name": "n\x00"},
        {"code": 5, "name": "n"},
    ]:
        assert_error(authed_api.post("/v1/warehouses", json=body), 422, "validation_error")
    assert count(db, "warehouses", "code", code) == 0
    sku = "S" + unique()[-40:]
    for body in [
        {"sku": sku, "name": "n"},
        {"sku": sku, "name": "n", "price": 12.5},
        {"sku": sku, "name": "n", "price": "1.005"},
        {"sku": sku, "name": "n", "price": "-1"},
        {"sku": sku, "name": "n", "price": "abc"},
        {"sku": sku, "name": "n", "price": "12345678901234567"},
        {"sku": "x" * 65, "name": "n", "price": "1"},
        {"sku": sku, "name": "n", "price": "1", "description": "x" * 2001},
        {"sku": sku, "name": " ", "price": "1"},
    ]:
        assert_error(authed_api.post("/v1/products", json=body), 422, "validation_error")
    assert count(db, "products", "sku", sku) == 0
    for raw in (b"{", b"[1]", b"", b'{"code": "' + code.encode() + b'", "name": "a\\ud800b"}'):
        r = authed_api.post("/v1/warehouses", content=raw,
                            headers={"Content-Type": "application/json"})  # fmt: skip
        assert_error(r, 422, "validation_error")
    long_ok = new_warehouse(authed_api, unique, name="é" * 200, address="ü" * 500)
    assert long_ok["name"] == "é" * 200


@pytest.mark.rules("pr-create", "pr-sku-unique", "pr-get", "money-format", "money-exact")
def test_product_is_created_with_exact_money_and_equal_timestamps(authed_api, unique, db):
    sku = "S" + unique()[-40:]
    r = authed_api.post("/v1/products", json={"sku": sku, "name": "Bolt", "price": "12.5"})
    assert r.status_code == 201, r.text
    product = r.json()
    assert product["price"] == "12.50" and product["description"] is None
    assert product["sku"] == sku and product["name"] == "Bolt"
    assert moment(product["created_at"]) == moment(product["updated_at"])
    assert authed_api.get(f"/v1/products/{product['id']}").json() == product
    assert_error(authed_api.post("/v1/products", json={"sku": sku, "name": "B", "price": "1"}),
                 409, "conflict")  # fmt: skip
    assert count(db, "products", "sku", sku) == 1
    big = new_product(authed_api, unique, price="9007199254740993.07", description="d")
    assert big["price"] == "9007199254740993.07"
    assert db.scalar("SELECT price::text FROM products WHERE id = %s", (big["id"],)) == (
        "9007199254740993.07"
    )
    assert new_product(authed_api, unique, price="0")["price"] == "0.00"
    assert new_product(authed_api, unique, price="7")["price"] == "7.00"


@pytest.mark.rules("pr-patch", "pr-delete", "path-id-404")
def test_product_patch_changes_only_what_is_sent_and_delete_removes_it(authed_api, unique):
    product = new_product(authed_api, unique, description="old")
    r = authed_api.patch(f"/v1/products/{product['id']}", json={"price": "4"})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["price"] == "4.00"
    assert {k: changed[k] for k in ("id", "sku", "name", "description", "created_at")} == {
        k: product[k] for k in ("id", "sku", "name", "description", "created_at")
    }
    assert moment(changed["updated_at"]) > moment(product["updated_at"])
    cleared = authed_api.patch(f"/v1/products/{product['id']}",
                               json={"description": None, "name": "Neu ✓"}).json()  # fmt: skip
    assert cleared["description"] is None and cleared["name"] == "Neu ✓"
    assert cleared["price"] == "4.00"
    assert authed_api.get(f"/v1/products/{product['id']}").json() == cleared
    for body in ({}, {"price": "1.001"}, {"name": ""}, {"name": 3}):
        assert_error(authed_api.patch(f"/v1/products/{product['id']}", json=body),
                     422, "validation_error")  # fmt: skip
    assert authed_api.get(f"/v1/products/{product['id']}").json() == cleared
    assert authed_api.delete(f"/v1/products/{product['id']}").status_code == 204
    assert_error(authed_api.get(f"/v1/products/{product['id']}"), 404, "not_found")
    assert_error(authed_api.patch(f"/v1/products/{product['id']}", json={"name": "x"}),
                 404, "not_found")  # fmt: skip
    assert_error(authed_api.delete(f"/v1/products/{product['id']}"), 404, "not_found")


@pytest.mark.rules("pr-list", "pr-search")
def test_product_search_is_literal_case_insensitive_and_paged_by_id(authed_api, unique):
    tag = unique("q")[-12:]
    made = [
        new_product(authed_api, unique, name=f"Alpha {tag} one"),
        new_product(authed_api, unique, name=f"beta {tag.upper()} two"),
        new_product(authed_api, unique, name=f"gamma {tag}%_\\ three"),
        new_product(authed_api, unique, name=f"delta {tag}ab\\c four"),
    ]
    r = authed_api.get("/v1/products", params={"q": tag})
    assert r.status_code == 200, r.text
    assert r.json() == {"items": made, "total": 4}
    page = authed_api.get("/v1/products", params={"q": tag.upper(), "limit": 2, "offset": 1})
    assert page.json() == {"items": made[1:3], "total": 4}
    assert authed_api.get("/v1/products", params={"q": f"{tag}%_\\"}).json()["items"] == [made[2]]
    assert authed_api.get("/v1/products", params={"q": f"{tag}_"}).json()["total"] == 0
    by_sku = authed_api.get("/v1/products", params={"q": made[3]["sku"].lower()}).json()
    assert by_sku["items"] == [made[3]]
    everything = authed_api.get("/v1/products", params={"q": "", "limit": 100}).json()
    ids = [item["id"] for item in everything["items"]]
    assert ids == sorted(ids) and everything["total"] >= 4
    for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "x"},
                   {"q": "x" * 101}):  # fmt: skip
        assert_error(authed_api.get("/v1/products", params=params), 422, "validation_error")


@pytest.mark.rules("mv-create", "mv-occurred-offset", "timestamp-format", "text-unicode")
def test_movement_keeps_occurred_at_with_its_offset_and_microseconds(authed_api, unique, db):
    warehouse = new_warehouse(authed_api, unique)
    product = new_product(authed_api, unique)
    for sent, offset_minutes, micro in [
        ("2024-03-10T12:34:56.123456+05:45", 345, 123456),
        ("1900-01-01T00:00:00.5-09:30", -570, 500000),
        ("2999-12-31T23:59:59.000001+14:00", 840, 1),
        ("2024-06-01T08:00:00Z", 0, 0),
    ]:
        move = new_movement(authed_api, warehouse, product, occurred_at=sent,
                            note="Zugang 📦 e\u0301", quantity=-7)  # fmt: skip
        assert move["warehouse_id"] == warehouse["id"] and move["product_id"] == product["id"]
        assert move["quantity"] == -7 and move["note"] == "Zugang 📦 e\u0301"
        for shown in (move, authed_api.get(f"/v1/movements/{move['id']}").json()):
            got = moment(shown["occurred_at"])
            assert got == moment(sent.replace("Z", "+00:00")), (sent, shown["occurred_at"])
            assert got.utcoffset().total_seconds() == offset_minutes * 60, shown["occurred_at"]
            assert got.microsecond == micro
        stored = db.scalar("SELECT occurred_at FROM stock_movements WHERE id = %s", (move["id"],))
        assert stored == moment(sent.replace("Z", "+00:00"))
    plain = new_movement(authed_api, warehouse, product)
    assert plain["note"] is None


@pytest.mark.rules("mv-fields", "mv-unknown-refs", "timestamp-format", "validation-422")
def test_invalid_movements_and_unknown_references_are_422_and_store_nothing(
    authed_api, unique, db
):
    warehouse = new_warehouse(authed_api, unique)
    product = new_product(authed_api, unique)
    good = {"warehouse_id": warehouse["id"], "product_id": product["id"], "quantity": 2,
            "occurred_at": "2024-01-02T03:04:05Z"}  # fmt: skip
    for change in [
        {"quantity": 0}, {"quantity": 1_000_001}, {"quantity": -1_000_001}, {"quantity": 1.0},
        {"quantity": "5"}, {"quantity": True}, {"warehouse_id": str(warehouse["id"])},
        {"occurred_at": "2024-01-02T03:04:05"}, {"occurred_at": "2024-01-02 03:04:05Z"},
        {"occurred_at": "2024-01-02T03:04:05.1234567Z"}, {"occurred_at": "2024-13-02T03:04:05Z"},
        {"occurred_at": "1899-12-31T23:59:59Z"}, {"occurred_at": "3000-01-01T00:00:00Z"},
        {"occurred_at": "2024-01-02T03:04:05+24:00"}, {"occurred_at": "2024-01-02T03:04:05+05:60"},
        {"occurred_at": 1704164645},
        {"note": "x" * 1001}, {"note": "a\x00b"},
        {"warehouse_id": warehouse["id"] + 10_000_000}, {"product_id": product["id"] + 10_000_000},
        {"warehouse_id": 2**63}, {"product_id": 2**63}, {"warehouse_id": 0},
    ]:
        r = authed_api.post("/v1/movements", json={**good, **change})
        assert_error(r, 422, "validation_error")
    missing = {k: v for k, v in good.items() if k != "occurred_at"}
    assert_error(authed_api.post("/v1/movements", json=missing), 422, "validation_error")
    assert count(db, "stock_movements", "product_id", product["id"]) == 0
    ok = new_movement(authed_api, warehouse, product, quantity=1_000_000, note="x" * 1000)
    assert ok["quantity"] == 1_000_000


@pytest.mark.rules("mv-get-delete", "wh-delete", "pr-delete")
def test_referenced_rows_are_kept_with_409_until_their_movements_are_deleted(
    authed_api, unique
):
    warehouse = new_warehouse(authed_api, unique)
    product = new_product(authed_api, unique)
    move = new_movement(authed_api, warehouse, product)
    assert authed_api.get(f"/v1/movements/{move['id']}").json() == move
    assert_error(authed_api.delete(f"/v1/warehouses/{warehouse['id']}"), 409, "conflict")
    assert_error(authed_api.delete(f"/v1/products/{product['id']}"), 409, "conflict")
    assert authed_api.get(f"/v1/warehouses/{warehouse['id']}").json() == warehouse
    assert authed_api.get(f"/v1/products/{product['id']}").json() == product
    assert authed_api.delete(f"/v1/movements/{move['id']}").status_code == 204
    assert_error(authed_api.get(f"/v1/movements/{move['id']}"), 404, "not_found")
    assert_error(authed_api.delete(f"/v1/movements/{move['id']}"), 404, "not_found")
    assert authed_api.delete(f"/v1/warehouses/{warehouse['id']}").status_code == 204
    assert authed_api.delete(f"/v1/products/{product['id']}").status_code == 204


@pytest.mark.rules("db-tables", "db-columns")
def test_tables_have_a_column_per_field_with_keys_and_types(authed_api, unique, db):
    fields = {
        "warehouses": ["id", "code", "name", "address", "created_at"],
        "products": ["id", "sku", "name", "description", "price", "created_at", "updated_at"],
        "stock_movements": ["id", "warehouse_id", "product_id", "quantity", "occurred_at",
                            "note", "created_at"],
    }  # fmt: skip
    for table, names in fields.items():
        columns = db.columns(table)
        assert set(names) <= set(columns), (table, columns)
        for name in names:
            if name.endswith("_at"):
                assert columns[name] == "timestamp with time zone", (table, name, columns[name])
        primary = [d for d in db.constraints(table).values() if d.startswith("PRIMARY KEY")]
        assert primary == ["PRIMARY KEY (id)"], (table, primary)
    assert db.columns("products")["price"] == "numeric"
    assert {("stock_movements", "warehouses"), ("stock_movements", "products")} <= db.foreign_keys()
    warehouse = new_warehouse(authed_api, unique, address=None)
    product = new_product(authed_api, unique, price="10.10")
    move = new_movement(authed_api, warehouse, product)
    row = db.execute(
        "SELECT warehouse_id, product_id, quantity, note FROM stock_movements WHERE id = %s",
        (move["id"],),
    ).fetchone()
    assert row == (warehouse["id"], product["id"], 4, None)
    assert db.scalar("SELECT address FROM warehouses WHERE id = %s", (warehouse["id"],)) is None


@pytest.mark.rules("error-body")
def test_every_4xx_answer_has_the_error_body(authed_api, unique):
    product = new_product(authed_api, unique)
    answers = [
        authed_api.put(f"/v1/products/{product['id']}", json={"name": "x"}),
        authed_api.post(f"/v1/products/{product['id']}", json={"name": "x"}),
        authed_api.delete("/v1/products"),
        authed_api.get("/v1/no-such-thing"),
        authed_api.put("/v1/admin/backup"),
    ]
    for response in answers:
        assert 400 <= response.status_code < 500, (response.request.url, response.status_code)
        body = response.json()
        assert isinstance(body["error"]["code"], str) and body["error"]["code"]
        assert isinstance(body["error"]["message"], str) and body["error"]["message"]
