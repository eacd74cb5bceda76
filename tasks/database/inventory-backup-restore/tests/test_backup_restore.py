"""Backup and restore: the round trip through the API and through the database itself."""

import copy
import time
from datetime import datetime

import pytest
from psycopg import sql

TABLES = ("warehouses", "products", "stock_movements")
PRECISE_PRICE = "9007199254740993.07"  # 2**53 + 1: a binary float cannot hold it


# ------------------------------------------------------------------ helpers


def snapshot(db):
    """Every row of every table, as PostgreSQL prints it (every column, the submission's own
    extra columns included), ordered by id."""
    return {
        table: [row[0] for row in db.execute(f"SELECT t::text FROM {table} t ORDER BY t.id")]
        for table in TABLES
    }


def new_warehouse(api, unique, address="Hauptstraße 5, 1010 Wien"):
    code = "W" + unique()[-31:]
    r = api.post("/v1/warehouses", json={"code": code, "name": "Lager Süd 🏭", "address": address})
    assert r.status_code == 201, r.text
    return r.json()


def new_product(api, unique, price="12.5", description=None):
    body = {"sku": "S" + unique()[-40:], "name": "Ünïcödé 商品 ✓", "price": price,
            "description": description}  # fmt: skip
    r = api.post("/v1/products", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def new_movement(api, warehouse, product, quantity=3,
                 occurred_at="2024-03-10T12:34:56.123456+05:45", note=None):  # fmt: skip
    body = {"warehouse_id": warehouse["id"], "product_id": product["id"], "quantity": quantity,
            "occurred_at": occurred_at, "note": note}  # fmt: skip
    r = api.post("/v1/movements", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def backup(api):
    r = api.get("/v1/admin/backup")
    assert r.status_code == 200, r.text
    return r.json()


def restore(api, doc):
    return api.post("/v1/admin/restore", json=doc, extensions={"deadline": 30})


def restore_ok(api, doc):
    r = restore(api, doc)
    assert r.status_code == 200, r.text
    assert r.json() == {"restored": {t: len(doc["tables"][t]) for t in TABLES}}
    return r


def assert_error(response, status, code):
    assert response.status_code == status, (response.request.method, response.request.url,
                                            response.text)  # fmt: skip
    body = response.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def moment(text):
    """A timestamp of the API as an aware datetime (instant and offset)."""
    parsed = datetime.fromisoformat(text)
    assert parsed.utcoffset() is not None, f"{text} has no offset"
    return parsed


def same_instant_and_offset(a, b):
    return moment(a) == moment(b) and moment(a).utcoffset() == moment(b).utcoffset()


def rows_by_id(doc, table):
    return {row["id"]: row for row in doc["tables"][table]}


def a_little_data(api, unique):
    """A warehouse, two products and two movements, with odd offsets, NULLs and unicode."""
    warehouse = new_warehouse(api, unique)
    bare = new_warehouse(api, unique, address=None)
    product = new_product(api, unique, price=PRECISE_PRICE, description="multi\nline «ü» 🚚")
    cheap = new_product(api, unique, price="0")
    moves = [
        new_movement(api, warehouse, product, 7, "2024-03-10T12:34:56.123456+05:45", "Eingang 📦"),
        new_movement(api, bare, cheap, -2, "1999-12-31T23:59:59.000001-09:30", None),
        new_movement(api, warehouse, cheap, 1, "2030-01-01T00:00:00Z", "e\u0301"),
    ]
    return {"warehouses": [warehouse, bare], "products": [product, cheap],
            "stock_movements": moves}  # fmt: skip


def wait_healthy(api, seconds=30):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if api.get("/health").status_code == 200:
                return
        except Exception:  # noqa: BLE001 - still starting
            pass
        time.sleep(0.3)
    pytest.fail("the server did not answer /health after its restart")


PATHS = {"warehouses": "/v1/warehouses", "products": "/v1/products",
         "stock_movements": "/v1/movements"}  # fmt: skip


def create_one_of_each(api, unique):
    warehouse = new_warehouse(api, unique)
    product = new_product(api, unique)
    movement = new_movement(api, warehouse, product)
    return {"warehouses": warehouse, "products": product, "stock_movements": movement}


# ------------------------------------------------------------------ tests


@pytest.mark.rules("backup-shape")
def test_backup_holds_every_row_once_by_id_in_the_shape_the_api_returns(authed_api, unique):
    made = a_little_data(authed_api, unique)
    doc = backup(authed_api)
    assert doc["format"] == "inventory-backup"
    assert doc["version"] == 1
    assert set(doc["tables"]) >= set(TABLES)
    for table in TABLES:
        rows = doc["tables"][table]
        ids = [row["id"] for row in rows]
        assert ids == sorted(set(ids)), f"{table}: ids not unique and ascending: {ids}"
        by_id = rows_by_id(doc, table)
        for item in made[table]:
            assert by_id[item["id"]] == item, (table, by_id[item["id"]], item)
            # and exactly what a read of the resource answers now
            read = authed_api.get(f"{PATHS[table]}/{item['id']}")
            assert read.status_code == 200 and read.json() == by_id[item["id"]]


@pytest.mark.rules("restore-replaces", "restore-answer")
def test_restore_reverts_added_deleted_and_updated_rows(authed_api, unique, db):
    kept = a_little_data(authed_api, unique)
    doomed_warehouse = new_warehouse(authed_api, unique)
    doomed_product = new_product(authed_api, unique, description="will be deleted")
    doc = backup(authed_api)
    stored = snapshot(db)

    # change things: add, delete, update
    added = create_one_of_each(authed_api, unique)
    patched = authed_api.patch(
        f"/v1/products/{kept['products'][0]['id']}",
        json={"name": "renamed", "description": None, "price": "1.00"},
    )
    assert patched.status_code == 200, patched.text
    for path in (f"/v1/movements/{kept['stock_movements'][1]['id']}",
                 f"/v1/warehouses/{doomed_warehouse['id']}",
                 f"/v1/products/{doomed_product['id']}"):  # fmt: skip
        assert authed_api.delete(path).status_code == 204, path
    assert snapshot(db) != stored

    restore_ok(authed_api, doc)
    assert snapshot(db) == stored, "the tables do not hold exactly the backed-up rows"
    for table, item in added.items():
        assert_error(authed_api.get(f"{PATHS[table]}/{item['id']}"), 404, "not_found")
    for table, path, item in [
        ("products", "/v1/products", kept["products"][0]),
        ("stock_movements", "/v1/movements", kept["stock_movements"][1]),
        ("warehouses", "/v1/warehouses", doomed_warehouse),
        ("products", "/v1/products", doomed_product),
    ]:
        read = authed_api.get(f"{path}/{item['id']}")
        assert read.status_code == 200, (table, read.text)
        assert read.json() == item
    assert backup(authed_api)["tables"] == doc["tables"]


@pytest.mark.rules("restore-keeps-values", "restore-occurred-offset", "money-exact", "text-unicode")
def test_restore_keeps_ids_timestamps_offsets_nulls_unicode_and_exact_money(
    authed_api, unique, db
):
    made = a_little_data(authed_api, unique)
    doc = backup(authed_api)
    # the backup itself keeps every value exactly
    movements = rows_by_id(doc, "stock_movements")
    for move in made["stock_movements"]:
        assert same_instant_and_offset(movements[move["id"]]["occurred_at"], move["occurred_at"])
    assert rows_by_id(doc, "products")[made["products"][0]["id"]]["price"] == PRECISE_PRICE
    stored = snapshot(db)

    # wipe the rows through a restore of a document that no longer has them, then restore all
    trimmed = copy.deepcopy(doc)
    mine = {t: {item["id"] for item in made[t]} for t in TABLES}
    for table in TABLES:
        trimmed["tables"][table] = [r for r in doc["tables"][table] if r["id"] not in mine[table]]
    restore_ok(authed_api, trimmed)
    assert_error(authed_api.get(f"/v1/products/{made['products'][0]['id']}"), 404, "not_found")
    restore_ok(authed_api, doc)

    assert snapshot(db) == stored
    for table in TABLES:
        for item in made[table]:
            read = authed_api.get(f"{PATHS[table]}/{item['id']}").json()
            assert read == item
    moves = made["stock_movements"]
    for move in moves:
        read = authed_api.get(f"/v1/movements/{move['id']}").json()
        assert same_instant_and_offset(read["occurred_at"], move["occurred_at"])
        assert moment(read["created_at"]) == moment(move["created_at"])
    first = authed_api.get(f"/v1/movements/{moves[0]['id']}").json()
    assert moment(first["occurred_at"]).utcoffset().total_seconds() == 5 * 3600 + 45 * 60
    assert moment(first["occurred_at"]).microsecond == 123456
    second = authed_api.get(f"/v1/movements/{moves[1]['id']}").json()
    assert moment(second["occurred_at"]).microsecond == 1
    assert second["note"] is None
    assert authed_api.get(f"/v1/warehouses/{made['warehouses'][1]['id']}").json()["address"] is None
    third = authed_api.get(f"/v1/movements/{moves[2]['id']}").json()
    assert third["note"] == "e\u0301"
    product = authed_api.get(f"/v1/products/{made['products'][0]['id']}").json()
    assert product["price"] == PRECISE_PRICE
    assert product["description"] == "multi\nline «ü» 🚚"
    assert db.scalar(
        "SELECT price::text FROM products WHERE id = %s", (made["products"][0]["id"],)
    ) == PRECISE_PRICE
    # the instants in the database are the backed-up ones, to the microsecond
    occurred = db.scalar(
        "SELECT occurred_at FROM stock_movements WHERE id = %s", (moves[0]["id"],)
    )
    assert occurred == moment(moves[0]["occurred_at"])


@pytest.mark.rules("restore-fresh-ids")
def test_every_create_after_a_restore_gets_an_id_above_every_restored_id(authed_api, unique):
    create_one_of_each(authed_api, unique)
    doc = backup(authed_api)
    # a document whose ids lie well ahead of anything created so far
    ahead = copy.deepcopy(doc)
    top = {t: max([r["id"] for r in doc["tables"][t]] + [0]) for t in TABLES}
    made = a_little_data(authed_api, unique)  # rows created after the backup; gone after it
    jump = {t: max(top[t], max(item["id"] for item in made[t])) + 40 for t in TABLES}
    w = copy.deepcopy(made["warehouses"][0]) | {"id": jump["warehouses"], "code": "J" + unique()[-31:]}
    p = copy.deepcopy(made["products"][0]) | {"id": jump["products"], "sku": "J" + unique()[-40:]}
    m = copy.deepcopy(made["stock_movements"][0]) | {
        "id": jump["stock_movements"], "warehouse_id": w["id"], "product_id": p["id"]}  # fmt: skip
    ahead["tables"]["warehouses"].append(w)
    ahead["tables"]["products"].append(p)
    ahead["tables"]["stock_movements"].append(m)
    restore_ok(authed_api, ahead)
    fresh = create_one_of_each(authed_api, unique)
    for table in TABLES:
        assert fresh[table]["id"] > jump[table], (table, fresh[table]["id"], jump[table])

    # and restoring the earlier document (smaller ids) never hands out an id in use
    restore_ok(authed_api, doc)
    again = create_one_of_each(authed_api, unique)
    for table in TABLES:
        assert again[table]["id"] > top[table], (table, again[table]["id"], top[table])


@pytest.mark.rules("restore-empty-db", "restore-fresh-ids")
def test_restore_into_an_emptied_database_after_a_restart_brings_everything_back(
    authed_api, unique, db, server
):
    made = a_little_data(authed_api, unique)
    doc = backup(authed_api)
    stored = snapshot(db)

    schema_owner = db.scalar(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'"
    )
    db_owner = db.scalar(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
    )
    db.execute("DROP SCHEMA public CASCADE")
    db.execute(sql.SQL("CREATE SCHEMA public AUTHORIZATION {}").format(sql.Identifier(schema_owner)))
    db.execute(sql.SQL("GRANT ALL ON SCHEMA public TO {}").format(sql.Identifier(db_owner)))
    db.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")
    server.restart()
    wait_healthy(authed_api)
    for table in TABLES:
        assert db.scalar(f"SELECT count(*) FROM {table}") == 0, f"{table} is not empty"

    restore_ok(authed_api, doc)
    assert snapshot(db) == stored
    for table in TABLES:
        for item in made[table]:
            assert authed_api.get(f"{PATHS[table]}/{item['id']}").json() == item
    top = {t: max(r["id"] for r in doc["tables"][t]) for t in TABLES}
    fresh = create_one_of_each(authed_api, unique)
    for table in TABLES:
        assert fresh[table]["id"] > top[table], (table, fresh[table]["id"], top[table])


def dangling(doc, field):
    """The document with one more movement, last, whose `field` names no row of it."""
    bad = copy.deepcopy(doc)
    moves = bad["tables"]["stock_movements"]
    row = copy.deepcopy(moves[-1])
    row["id"] = max(r["id"] for r in moves) + 1
    table = "warehouses" if field == "warehouse_id" else "products"
    row[field] = max(r["id"] for r in bad["tables"][table]) + 1000
    moves.append(row)
    return bad


@pytest.mark.rules("restore-invalid-atomic")
def test_a_document_with_a_dangling_reference_is_refused_and_changes_nothing(
    authed_api, unique, db
):
    made = a_little_data(authed_api, unique)
    doc = backup(authed_api)
    create_one_of_each(authed_api, unique)  # the data set moves on after the backup
    current = backup(authed_api)
    stored = snapshot(db)
    for field in ("product_id", "warehouse_id"):
        assert_error(restore(authed_api, dangling(doc, field)), 422, "validation_error")
        assert snapshot(db) == stored, f"a refused restore (dangling {field}) changed the tables"
    assert backup(authed_api)["tables"] == current["tables"]
    assert authed_api.get(f"/v1/warehouses/{made['warehouses'][0]['id']}").status_code == 200


def broken_documents(doc, unique):
    """(label, document) pairs, each not valid for one stated reason."""
    def edited(fn):
        bad = copy.deepcopy(doc)
        fn(bad)
        return bad

    t = "tables"
    return [
        ("missing sku", edited(lambda d: d[t]["products"][-1].pop("sku"))),
        ("missing note", edited(lambda d: d[t]["stock_movements"][-1].pop("note"))),
        ("missing table", edited(lambda d: d[t].pop("stock_movements"))),
        ("wrong format", edited(lambda d: d.update(format="other-backup"))),
        ("wrong version", edited(lambda d: d.update(version=2))),
        ("duplicate warehouse id", edited(lambda d: d[t]["warehouses"].append(
            d[t]["warehouses"][-1] | {"code": "D" + unique()[-31:]}))),
        ("duplicate product sku", edited(lambda d: d[t]["products"].append(
            d[t]["products"][-1] | {"id": d[t]["products"][-1]["id"] + 500}))),
        ("duplicate warehouse code", edited(lambda d: d[t]["warehouses"].append(
            d[t]["warehouses"][0] | {"id": d[t]["warehouses"][-1]["id"] + 500}))),
        ("price with three decimals", edited(lambda d: d[t]["products"][-1].update(price="1.005"))),
        ("price as a number", edited(lambda d: d[t]["products"][-1].update(price=12.5))),
        ("timestamp without offset", edited(
            lambda d: d[t]["stock_movements"][-1].update(occurred_at="2024-03-10T12:34:56"))),
        ("quantity 0", edited(lambda d: d[t]["stock_movements"][-1].update(quantity=0))),
        ("id 0", edited(lambda d: d[t]["warehouses"][-1].update(id=0))),
        ("blank name", edited(lambda d: d[t]["warehouses"][-1].update(name="   "))),
        ("id as a string", edited(lambda d: d[t]["products"][-1].update(id="7"))),
        ("id of 2**63", edited(lambda d: d[t]["stock_movements"][-1].update(id=2**63))),
        ("code of 41", edited(lambda d: d[t]["warehouses"][-1].update(code="c" * 41))),
        ("warehouse name of 201", edited(lambda d: d[t]["warehouses"][-1].update(name="n" * 201))),
        ("address of 501", edited(lambda d: d[t]["warehouses"][-1].update(address="a" * 501))),
        ("missing address", edited(lambda d: d[t]["warehouses"][-1].pop("address"))),
        ("sku of 65", edited(lambda d: d[t]["products"][-1].update(sku="s" * 65))),
        ("product name of 201", edited(lambda d: d[t]["products"][-1].update(name="n" * 201))),
        ("description of 2001", edited(
            lambda d: d[t]["products"][-1].update(description="d" * 2001))),
        ("missing description", edited(lambda d: d[t]["products"][-1].pop("description"))),
        ("missing updated_at", edited(lambda d: d[t]["products"][-1].pop("updated_at"))),
        ("negative price", edited(lambda d: d[t]["products"][-1].update(price="-1.00"))),
        ("note of 1001", edited(lambda d: d[t]["stock_movements"][-1].update(note="n" * 1001))),
        ("note with NUL", edited(lambda d: d[t]["stock_movements"][-1].update(note="a\x00b"))),
        ("quantity of 1000001", edited(
            lambda d: d[t]["stock_movements"][-1].update(quantity=1_000_001))),
        ("product_id as a string", edited(
            lambda d: d[t]["stock_movements"][-1].update(product_id=str(d[t]["products"][0]["id"])))),
        ("created_at in 3000", edited(
            lambda d: d[t]["warehouses"][-1].update(created_at="3000-01-01T00:00:00Z"))),
        ("tables not an object", edited(lambda d: d.update(tables=[]))),
        ("a row not an object", edited(lambda d: d[t]["warehouses"].append(5))),
    ]


@pytest.mark.rules("restore-invalid-atomic", "validation-422")
def test_invalid_documents_are_refused_and_change_nothing(authed_api, unique, db):
    a_little_data(authed_api, unique)
    doc = backup(authed_api)
    new_product(authed_api, unique)  # the data set moves on after the backup
    stored = snapshot(db)
    for label, bad in broken_documents(doc, unique):
        response = restore(authed_api, bad)
        assert response.status_code == 422, (label, response.text)
        assert_error(response, 422, "validation_error")
        assert snapshot(db) == stored, f"a refused restore ({label}) changed the tables"
    for raw in (b"{not json", b"[]", b'"inventory-backup"'):
        r = authed_api.post("/v1/admin/restore", content=raw,
                            headers={"Content-Type": "application/json"})  # fmt: skip
        assert_error(r, 422, "validation_error")
    assert snapshot(db) == stored


@pytest.mark.rules("restore-extra-ignored", "restore-empty-tables", "restore-answer", "path-id-404")
def test_extra_fields_are_ignored_and_a_document_of_empty_tables_empties_the_data_set(
    authed_api, unique, db
):
    a_little_data(authed_api, unique)
    doc = backup(authed_api)
    stored = snapshot(db)
    extra = copy.deepcopy(doc)
    extra["comment"] = "made by hand"
    for table in TABLES:
        for row in extra["tables"][table]:
            row["x_extra"] = {"ignored": True}
    restore_ok(authed_api, extra)
    assert snapshot(db) == stored
    empty = {"format": "inventory-backup", "version": 1,
             "tables": {"warehouses": [], "products": [], "stock_movements": []}}  # fmt: skip
    # the largest id a row may have is restored and read like any other
    top = copy.deepcopy(doc)
    biggest = copy.deepcopy(doc["tables"]["warehouses"][-1]) | {
        "id": 2**63 - 1, "code": "M" + unique()[-31:]}  # fmt: skip
    top["tables"]["warehouses"].append(biggest)
    try:
        restore_ok(authed_api, top)
        assert authed_api.get(f"/v1/warehouses/{2**63 - 1}").json() == biggest
        restore_ok(authed_api, empty)
        for table in TABLES:
            assert db.scalar(f"SELECT count(*) FROM {table}") == 0, table
        listed = authed_api.get("/v1/products").json()
        assert listed == {"items": [], "total": 0}
    finally:
        restore(authed_api, doc)
    assert snapshot(db) == stored
