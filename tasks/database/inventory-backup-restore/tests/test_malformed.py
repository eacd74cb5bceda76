"""Malformed requests: what the prompt settles for bytes, sizes and content types."""

import copy
import json

import pytest

MiB = 1024 * 1024
TABLES = ("warehouses", "products", "stock_movements")


def assert_error(response, status, code):
    assert response.status_code == status, (response.request.method, str(response.request.url),
                                            response.text[:300])  # fmt: skip
    body = response.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def snapshot(db):
    """Every row of every table as PostgreSQL prints it, ordered by id."""
    return {
        table: [row[0] for row in db.execute(f"SELECT t::text FROM {table} t ORDER BY t.id")]
        for table in TABLES
    }


def count(db, table, column, value):
    return db.scalar(f"SELECT count(*) FROM {table} WHERE {column} = %s", (value,))


def send_raw(client_factory, auth_headers, method, path, content: bytes, content_type: str):
    """A request on a connection of its own, closed after: a server may close a connection
    whose body it did not read, and no other request may depend on it."""
    with client_factory(headers={**auth_headers, "Content-Type": content_type}) as client:
        return client.request(method, path, content=content, extensions={"deadline": 30})


def new_warehouse(api, unique):
    r = api.post("/v1/warehouses", json={"code": "W" + unique()[-31:], "name": "Main"})
    assert r.status_code == 201, r.text
    return r.json()


def new_product(api, unique):
    r = api.post("/v1/products", json={"sku": "S" + unique()[-40:], "name": "Widget",
                                        "price": "3.5"})  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()


def backup(api):
    r = api.get("/v1/admin/backup")
    assert r.status_code == 200, r.text
    return r.json()


def restore(api, doc):
    return api.post("/v1/admin/restore", json=doc, extensions={"deadline": 30})


@pytest.mark.rules("invalid-utf8-body", "validation-422", "error-body")
def test_a_body_that_is_not_utf8_is_422_and_changes_nothing(
    authed_api, client_factory, auth_headers, unique, db
):
    warehouse = new_warehouse(authed_api, unique)
    product = new_product(authed_api, unique)
    doc = backup(authed_api)
    new_product(authed_api, unique)  # the data set moves on after the backup
    stored = snapshot(db)
    code, sku = "W" + unique()[-31:], "S" + unique()[-40:]
    refs = b'"warehouse_id": %d, "product_id": %d' % (warehouse["id"], product["id"])
    sends = [
        ("POST", "/v1/warehouses", b'{"code": "%s", "name": "Lager \xff"}' % code.encode()),
        ("POST", "/v1/warehouses", b'{"code": "%s", "name": "Caf\xe9"}' % code.encode()),  # Latin-1
        ("POST", "/v1/products",
         b'{"sku": "%s", "name": "n", "price": "1", "x": "\xff\xfe"}' % sku.encode()),
        ("PATCH", f"/v1/products/{product['id']}", b'{"name": "caf\xe9"}'),
        ("POST", "/v1/movements",
         b'{%s, "quantity": 2, "occurred_at": "2024-01-01T00:00:00Z", "note": "\xff"}' % refs),
    ]
    # a valid document but for one byte in a field that would be ignored
    raw_doc = json.dumps(doc).encode()
    sends.append(("POST", "/v1/admin/restore", raw_doc[:-1] + b', "comment": "caf\xe9"}'))
    for method, path, raw in sends:
        response = send_raw(client_factory, auth_headers, method, path, raw, "application/json")
        assert_error(response, 422, "validation_error")
    assert count(db, "warehouses", "code", code) == 0
    assert count(db, "products", "sku", sku) == 0
    assert authed_api.get(f"/v1/products/{product['id']}").json() == product
    assert snapshot(db) == stored


@pytest.mark.rules("invalid-utf8-query", "validation-422", "error-body")
def test_a_query_value_that_is_not_utf8_is_refused_or_read_with_replacements(authed_api):
    response = authed_api.get("/v1/products?q=%FF%FE")
    if response.status_code != 200:
        assert_error(response, 422, "validation_error")
    else:
        assert set(response.json()) >= {"items", "total"}
    for path in ("/v1/products?limit=%FF", "/v1/products?offset=%FF", "/v1/products?limit=1%FF"):
        assert_error(authed_api.get(path), 422, "validation_error")


@pytest.mark.rules("oversized-body")
def test_a_body_over_1_mib_is_refused_or_handled_like_any_other(
    authed_api, client_factory, auth_headers, unique, db
):
    sku = "S" + unique()[-40:]
    body = json.dumps({"sku": sku, "name": "Big", "price": "2",
                       "padding": "x" * (MiB + 1024)}).encode()  # fmt: skip
    response = send_raw(client_factory, auth_headers, "POST", "/v1/products", body,
                        "application/json")  # fmt: skip
    assert response.status_code in (201, 413, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    if response.status_code == 201:
        assert response.json()["sku"] == sku and response.json()["price"] == "2.00"
    assert count(db, "products", "sku", sku) == (1 if response.status_code == 201 else 0)
    product = new_product(authed_api, unique)
    body = json.dumps({"name": "Renamed", "padding": "y" * (MiB + 1024)}).encode()
    response = send_raw(client_factory, auth_headers, "PATCH", f"/v1/products/{product['id']}",
                        body, "application/json")  # fmt: skip
    assert response.status_code in (200, 413, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    after = authed_api.get(f"/v1/products/{product['id']}").json()
    if response.status_code == 200:
        assert after["name"] == "Renamed" and response.json() == after
    else:
        assert after == product
    assert authed_api.get("/health").status_code == 200


@pytest.mark.rules("restore-large", "restore-answer", "restore-replaces")
def test_a_restore_document_over_1_mib_is_restored_like_any_other(authed_api, unique, db):
    new_product(authed_api, unique)
    doc = backup(authed_api)
    stored = snapshot(db)
    big = copy.deepcopy(doc)
    template = doc["tables"]["products"][-1]
    top = max(row["id"] for row in doc["tables"]["products"])
    tag = unique()[-20:]
    for n in range(1, 601):
        big["tables"]["products"].append({**template, "id": top + n, "sku": f"L{tag}-{n}",
                                          "description": "d" * 2000})  # fmt: skip
    assert len(json.dumps(big).encode()) > MiB
    try:
        response = restore(authed_api, big)
        assert response.status_code == 200, response.text[:300]
        assert response.json() == {"restored": {t: len(big["tables"][t]) for t in TABLES}}
        assert db.scalar("SELECT count(*) FROM products") == len(big["tables"]["products"])
        last = authed_api.get(f"/v1/products/{top + 600}")
        assert last.status_code == 200 and last.json()["sku"] == f"L{tag}-600", last.text[:300]
    finally:
        restore(authed_api, doc)
    assert snapshot(db) == stored


@pytest.mark.rules("content-type")
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_of_another_content_type_is_refused_or_read_as_json(
    authed_api, client_factory, auth_headers, unique, db, content_type
):
    code = "W" + unique()[-31:]
    body = json.dumps({"code": code, "name": "Typed"}).encode()
    response = send_raw(client_factory, auth_headers, "POST", "/v1/warehouses", body, content_type)
    assert response.status_code in (201, 415, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    if response.status_code == 201:
        assert response.json()["code"] == code and response.json()["name"] == "Typed"
    assert count(db, "warehouses", "code", code) == (1 if response.status_code == 201 else 0)
    product = new_product(authed_api, unique)
    body = json.dumps({"price": "7.25"}).encode()
    response = send_raw(client_factory, auth_headers, "PATCH", f"/v1/products/{product['id']}",
                        body, content_type)  # fmt: skip
    assert response.status_code in (200, 415, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    after = authed_api.get(f"/v1/products/{product['id']}").json()
    if response.status_code == 200:
        assert after["price"] == "7.25" and response.json() == after
    else:
        assert after == product
