"""Recording sales: what is stored and answered, validation, authentication, malformed input."""

from __future__ import annotations

import json

import pytest
from report_api import (
    EMPTY_STORES,
    SEEDED_STORES,
    assert_error,
    fresh_period,
    instant,
    new_sale,
    record,
    report,
    sales_count,
)

SALE_FIELDS = ("id", "store_id", "product_id", "quantity", "unit_price_cents", "sold_at")
MiB = 1024 * 1024


def stored(db, sale_id):
    row = db.execute(f"SELECT {', '.join(SALE_FIELDS)} FROM sales WHERE id = %s",
                     (sale_id,)).fetchone()
    return None if row is None else dict(zip(SALE_FIELDS, row, strict=True))


@pytest.mark.rules("sale-create", "sale-fields")
def test_a_sale_is_stored_and_answered_201_with_its_fields(authed_api, db):
    store, year = fresh_period(db)
    body = new_sale(year, product_id=17, quantity=4, unit_price_cents=1250,
                    sold_at=f"{year}-03-01T10:00:00+01:00")
    sale = record(authed_api, store, body)
    row = stored(db, sale["id"])
    assert row is not None, sale
    for field in ("store_id", "product_id", "quantity", "unit_price_cents"):
        assert sale[field] == row[field], (field, sale, row)
    assert (row["store_id"], row["product_id"], row["quantity"], row["unit_price_cents"]) == (
        store, 17, 4, 1250)
    assert instant(sale["sold_at"]) == row["sold_at"] == instant(body["sold_at"])
    second = record(authed_api, store, new_sale(year))
    assert second["id"] != sale["id"]


@pytest.mark.rules("unknown-fields-ignored", "sale-create")
def test_unknown_fields_and_a_given_id_are_ignored(authed_api, db):
    store, year = fresh_period(db)
    taken = int(db.scalar("SELECT min(id) FROM sales"))
    sale = record(authed_api, store, new_sale(year, id=taken, store_id=1, note="extra"))
    assert sale["id"] != taken and sale["store_id"] == store
    assert stored(db, sale["id"])["store_id"] == store


INVALID = {
    "missing product_id": {"product_id": None},
    "missing quantity": {"quantity": None},
    "missing unit_price_cents": {"unit_price_cents": None},
    "missing sold_at": {"sold_at": None},
    "quantity 0": {"quantity": 0},
    "quantity 1001": {"quantity": 1001},
    "quantity 1.0": {"quantity": 1.0},
    "quantity '5'": {"quantity": "5"},
    "quantity true": {"quantity": True},
    "negative price": {"unit_price_cents": -1},
    "price over 10^7": {"unit_price_cents": 10_000_001},
    "price 2.5": {"unit_price_cents": 2.5},
    "product_id '7'": {"product_id": "7"},
    "product_id 0": {"product_id": 0},
    "unknown product": {"product_id": 401},
    "product_id past 32 bits": {"product_id": 2**40},
    "product_id 2**31": {"product_id": 2**31},
    "sold_at without offset": {"sold_at": "2030-06-15T12:00:00"},
    "sold_at not a date": {"sold_at": "yesterday"},
    "sold_at a number": {"sold_at": 1_900_000_000},
    "sold_at in 1999 UTC": {"sold_at": "2000-01-01T00:30:00+01:00"},
    "sold_at in 2101 UTC": {"sold_at": "2101-01-01T00:00:00Z"},
    "sold_at with NUL": {"sold_at": "2030-06-15T12:00:00Z\u0000"},
}


@pytest.mark.rules("sale-validation", "unknown-product-422", "rejected-changes-nothing",
                   "error-422")
@pytest.mark.parametrize("case", sorted(INVALID))
def test_an_invalid_sale_is_422_and_stores_nothing(authed_api, db, case):
    store, year = fresh_period(db)
    before = sales_count(db, store)
    body = new_sale(year)
    for field, value in INVALID[case].items():
        if value is None:
            body.pop(field)
        else:
            body[field] = value
    assert_error(authed_api.post(f"/v1/stores/{store}/sales", json=body), 422, "validation_error")
    assert sales_count(db, store) == before


@pytest.mark.rules("sale-validation", "sale-create")
@pytest.mark.parametrize("bound", [
    {"quantity": 1, "unit_price_cents": 0}, {"quantity": 1000, "unit_price_cents": 10_000_000},
    {"sold_at": "2000-01-01T00:00:00Z"}, {"sold_at": "2100-12-31T23:59:59.999999Z"},
    {"product_id": 1}, {"product_id": 400},
])  # fmt: skip
def test_the_bounds_of_each_field_are_accepted(authed_api, db, bound):
    store, year = fresh_period(db)
    sale = record(authed_api, store, new_sale(year, **bound))
    row = stored(db, sale["id"])
    for field, value in bound.items():
        want = instant(value) if field == "sold_at" else value
        assert row[field] == want, (field, row)


@pytest.mark.rules("writes-need-token", "error-401", "rejected-changes-nothing", "reads-public")
@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic {secret}", "Bearer {secret}x",
                                    "{secret}", "Bearer"])
def test_recording_a_sale_without_the_token_is_401_and_stores_nothing(api, app_secret, db,
                                                                     header):
    store, year = fresh_period(db)
    before = sales_count(db, store)
    headers = {} if header is None else {"Authorization": header.format(secret=app_secret)}
    for body in (new_sale(year), {"quantity": "bad"}):
        response = api.post(f"/v1/stores/{store}/sales", json=body, headers=headers)
        assert_error(response, 401, "unauthorized")
    assert sales_count(db, store) == before
    assert report(api, store, year)["sales"] == 0


@pytest.mark.rules("bearer-case-insensitive", "sale-create")
@pytest.mark.parametrize("scheme", ["bearer", "BEARER"])
def test_the_scheme_name_is_matched_case_insensitively(api, app_secret, db, scheme):
    store, year = fresh_period(db)
    response = api.post(f"/v1/stores/{store}/sales", json=new_sale(year),
                        headers={"Authorization": f"{scheme} {app_secret}"})
    assert response.status_code == 201, response.text
    assert report(api, store, year)["sales"] == 1


MALFORMED_IDS = ["abc", "1.5", "0", "-1", "2147483648", "1e3", "null%2Cnull"]


@pytest.mark.rules("malformed-path-id", "rejected-changes-nothing")
@pytest.mark.parametrize("bad_id", MALFORMED_IDS)
def test_a_malformed_store_id_names_no_store(api, authed_api, db, bad_id):
    before = db.scalar("SELECT count(*) FROM sales")
    for response in (
        api.get(f"/v1/stores/{bad_id}/report", params={"year": 2025}),
        authed_api.post(f"/v1/stores/{bad_id}/sales", json=new_sale(2030)),
    ):
        assert response.status_code in (404, 422), (bad_id, response.text)
        code = "not_found" if response.status_code == 404 else "validation_error"
        assert_error(response, response.status_code, code)
    assert db.scalar("SELECT count(*) FROM sales") == before


@pytest.mark.rules("malformed-body", "rejected-changes-nothing")
@pytest.mark.parametrize("raw", [b"{", b"[]", b'"sale"', b"null",
                                 b'{"product_id": 1, "quantity": 1, "unit_price_cents": 1, '
                                 b'"sold_at": "2030-01-01T00:00:00Z\xff"}'])
def test_a_body_that_is_not_a_json_object_in_utf_8_is_422(authed_api, db, raw):
    store, _ = fresh_period(db)
    before = sales_count(db, store)
    response = authed_api.post(f"/v1/stores/{store}/sales", content=raw,
                               headers={"Content-Type": "application/json"})
    assert_error(response, 422, "validation_error")
    assert sales_count(db, store) == before


@pytest.mark.rules("oversized-body", "content-type", "rejected-changes-nothing")
def test_an_oversized_body_or_another_content_type_is_refused_or_read(authed_api, db):
    store, year = fresh_period(db)
    big = json.dumps(new_sale(year, note="x" * (MiB + 10)))
    response = authed_api.post(f"/v1/stores/{store}/sales", content=big,
                               headers={"Content-Type": "application/json"},
                               extensions={"deadline": 30})
    assert response.status_code in (201, 413, 422), response.text
    expected = 1 if response.status_code == 201 else 0
    assert report(authed_api, store, year)["sales"] == expected
    response = authed_api.post(f"/v1/stores/{store}/sales", content=json.dumps(new_sale(year)),
                               headers={"Content-Type": "text/plain"})
    assert response.status_code in (201, 415, 422), response.text
    expected += 1 if response.status_code == 201 else 0
    assert report(authed_api, store, year)["sales"] == expected


TABLES = {
    "stores": {"id": "integer", "name": "text"},
    "products": {"id": "integer", "name": "text"},
    "sales": {"id": "bigint", "store_id": "integer", "product_id": "integer",
              "quantity": "integer", "unit_price_cents": "integer",
              "sold_at": "timestamp with time zone"},
}  # fmt: skip
SEEDED_SALES = (500_000, "902505d91505aa39913c304bf5ea312a")


@pytest.mark.rules("schema-unchanged")
def test_the_tables_and_their_columns_are_unchanged(db):
    assert db.tables() == sorted(TABLES)
    for table, columns in TABLES.items():
        assert db.columns(table) == columns, table
    views = db.scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('v', 'm')"
    )
    assert views == 0


@pytest.mark.rules("data-kept")
def test_the_seeded_sales_are_still_there(db):
    assert db.scalar("SELECT count(*) FROM stores") == len(SEEDED_STORES) + len(EMPTY_STORES)
    assert db.scalar("SELECT count(*) FROM products") == 400
    last, digest = SEEDED_SALES
    got = db.scalar(
        "SELECT md5(string_agg(concat_ws('|', id, store_id, product_id, quantity, "
        "unit_price_cents, extract(epoch FROM sold_at)), ',' ORDER BY id)) FROM sales "
        "WHERE id <= %s",
        (last,),
    )
    assert got == digest
