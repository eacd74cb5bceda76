"""CSV imports: RFC 4180 quoting, the header, row numbers, and what is stored."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from imports_api import (
    CSV,
    HEADER,
    assert_error,
    counts,
    imported,
    new_prefix,
    post_import,
    rejects,
    stored,
    stored_count,
)


@pytest.mark.rules("csv-format", "insert", "report", "products-table", "product-read", "get-import")
def test_a_csv_import_stores_its_products_and_answers_its_report(authed_api, db):
    p = new_prefix()
    body = (f"{HEADER}\n{p}-a,Brass lamp,12.5,3,2026-05-01\n{p}-b,Desk,0,0,\n"
            f"{p}-c,Chair,999999.99,1000000,2099-12-31\n")  # fmt: skip
    report = imported(authed_api, body)
    assert report["format"] == "csv" and report["id"] >= 1
    assert counts(report) == (3, 3, 0, 0, 0) and report["rejects"] == []
    assert stored(db, f"{p}-a") == ("Brass lamp", Decimal("12.50"), 3, dt.date(2026, 5, 1))
    assert stored(db, f"{p}-b") == ("Desk", Decimal("0.00"), 0, None)
    assert stored(db, f"{p}-c") == ("Chair", Decimal("999999.99"), 1000000, dt.date(2099, 12, 31))
    product = authed_api.get(f"/v1/products/{p}-a")
    assert product.status_code == 200, product.text
    assert product.json() == {"sku": f"{p}-a", "name": "Brass lamp", "price": "12.50",
                              "quantity": 3, "available_from": "2026-05-01"}  # fmt: skip
    assert authed_api.get(f"/v1/products/{p}-b").json()["available_from"] is None
    assert_error(authed_api.get(f"/v1/products/{p}-zz"), 404, "not_found")
    again = authed_api.get(f"/v1/imports/{report['id']}")
    assert again.status_code == 200 and again.json() == report, again.text
    assert db.columns("products").keys() >= {"sku", "name", "price", "quantity", "available_from"}


@pytest.mark.rules("csv-quoting", "cells-exact", "row-numbers")
def test_quoted_cells_hold_commas_quotes_and_line_breaks(authed_api, db):
    p = new_prefix()
    body = (
        "name,quantity,sku,price,available_from\r\n"
        f'"Lamp, brass",1,{p}-1,"12.50",""\r\n'
        f'"Say ""hi""",2,{p}-2,3,2026-01-02\r\n'
        f'"two\nlines\r\nhere",3,"{p}-3",4,\r\n'
        f'" spaced ",4,{p}-4,5,\n'
        f"plain,5,{p}-5,6,2026-02-03"  # no line break after the last row
    )
    report = imported(authed_api, body)
    assert counts(report) == (5, 5, 0, 0, 0), report
    assert stored(db, f"{p}-1") == ("Lamp, brass", Decimal("12.50"), 1, None)
    assert stored(db, f"{p}-2") == ('Say "hi"', Decimal("3.00"), 2, dt.date(2026, 1, 2))
    assert stored(db, f"{p}-3") == ("two\nlines\r\nhere", Decimal("4.00"), 3, None)
    assert stored(db, f"{p}-4") == (" spaced ", Decimal("5.00"), 4, None)
    assert stored(db, f"{p}-5") == ("plain", Decimal("6.00"), 5, dt.date(2026, 2, 3))
    # a record spanning lines is one row: the one after it is row 2, the unquoted space a fault
    body = f'{HEADER}\n{p}-6,"a\nb\nc",1,1,\n{p}-7,x, 1,1,\n'
    report = imported(authed_api, body)
    assert counts(report)[0] == 2 and rejects(report) == [(2, "invalid", "price")], report


@pytest.mark.rules("row-numbers", "empty-lines", "reject-report")
def test_row_1_is_the_first_record_after_the_header_and_empty_lines_take_no_number(
    authed_api, db
):
    p = new_prefix()
    body = (f"{HEADER}\n{p}-1,a,1,1,\n{p}-2,b,x,1,\n\n{p}-3,c,1,1,\n\r\n{p}-4,d,1,,\n"
            f"{p}-5,e,1,1,2026-13-01\n\n")  # fmt: skip
    report = imported(authed_api, body)
    assert counts(report) == (5, 2, 0, 0, 3), report
    assert rejects(report) == [(2, "invalid", "price"), (4, "missing", "quantity"),
                               (5, "invalid", "available_from")]  # fmt: skip
    assert stored_count(db, p) == 2


CASES = [  # (row after the sku, code, field); the sku is filled in per row
    (",name,1,1,", "missing", "sku"),
    ("{sku} ,name,1,1,", "invalid", "sku"),
    ("-{sku},name,1,1,", "invalid", "sku"),
    ("{sku}/x,name,1,1,", "invalid", "sku"),
    ("{sku}" + "x" * 60 + ",name,1,1,", "invalid", "sku"),
    ("{sku},,1,1,", "missing", "name"),
    ("{sku}," + "n" * 201 + ",1,1,", "invalid", "name"),
    ("{sku},name,,1,", "missing", "price"),
    ("{sku},name,-1,1,", "invalid", "price"),
    ("{sku},name,+1,1,", "invalid", "price"),
    ("{sku},name,1e3,1,", "invalid", "price"),
    ("{sku},name,12.345,1,", "invalid", "price"),
    ("{sku},name,.5,1,", "invalid", "price"),
    ("{sku},name,12.,1,", "invalid", "price"),
    ("{sku},name,1234567,1,", "invalid", "price"),
    ("{sku},name,\u0661\u0662,1,", "invalid", "price"),
    ("{sku},name,1,,", "missing", "quantity"),
    ("{sku},name,1,5.0,", "invalid", "quantity"),
    ("{sku},name,1,+5,", "invalid", "quantity"),
    ("{sku},name,1,1000001,", "invalid", "quantity"),
    ("{sku},name,1,\u0663,", "invalid", "quantity"),
    ("{sku},name,1,1,2026-02-30", "invalid", "available_from"),
    ("{sku},name,1,1,1999-12-31", "invalid", "available_from"),
    ("{sku},name,1,1,2100-01-01", "invalid", "available_from"),
    ("{sku},name,1,1,2026-1-05", "invalid", "available_from"),
    ("{sku},name,1,1,05/01/2026", "invalid", "available_from"),
    ("{sku},name,1,1,20260105", "invalid", "available_from"),
    ("{sku},name,1,1, 2026-01-05", "invalid", "available_from"),
    ("{sku},a\u0000b,1,1,", "invalid", "name"),
    ("{sku},name,1,1", "wrong_field_count", None),
    ("{sku},name,1,1,,extra", "wrong_field_count", None),
    ("{sku},,x,y,bad", "missing", "name"),  # the first field at fault in sku..available_from
    ("{sku},name,x,,", "invalid", "price"),
]


@pytest.mark.rules("reason-codes", "field-order", "sku-rule", "name-rule", "price-rule",
                   "quantity-rule", "date-rule", "ascii-digits", "reject-report")  # fmt: skip
def test_each_invalid_record_is_reported_with_its_reason_and_field(authed_api, db):
    p = new_prefix()
    lines = [row.format(sku=f"{p}-{i}") for i, (row, _, _) in enumerate(CASES)]
    report = imported(authed_api, HEADER + "\n" + "\n".join(lines) + "\n")
    expected = [(i + 1, code, field) for i, (_, code, field) in enumerate(CASES)]
    assert rejects(report) == expected
    assert counts(report) == (len(CASES), 0, 0, 0, len(CASES))
    assert stored_count(db, p) == 0 and stored_count(db, "-" + p) == 0


@pytest.mark.rules("sku-rule", "name-rule", "price-rule", "quantity-rule", "date-rule")
def test_values_at_the_edges_of_each_rule_are_stored(authed_api, db):
    p = new_prefix()
    long_sku = (p + "-" + "Z" * 64)[:64]
    body = (f"{HEADER}\n{long_sku},{'n' * 200},012.50,0001000000,2000-01-01\n"
            f"{p}_A.b-9,\u00e9t\u00e9 \U0001f600,0.5,0,2024-02-29\n")  # fmt: skip
    report = imported(authed_api, body.encode("utf-8"))
    assert counts(report) == (2, 2, 0, 0, 0), report
    assert stored(db, long_sku) == ("n" * 200, Decimal("12.50"), 1000000, dt.date(2000, 1, 1))
    assert stored(db, f"{p}_A.b-9") == ("\u00e9t\u00e9 \U0001f600", Decimal("0.50"), 0,
                                        dt.date(2024, 2, 29))  # fmt: skip


@pytest.mark.rules("encoding", "reason-codes", "keep-going")
def test_a_record_that_is_not_utf8_is_rejected_and_the_rest_stored(authed_api, db):
    p = new_prefix()
    body = (f"{HEADER}\n{p}-1,caf\u00e9,1,1,\n".encode()
            + f"{p}-2,caf".encode() + b"\xe9,1,1,\n"
            + f"{p}-3,ok,1,1,\n".encode())  # fmt: skip
    report = imported(authed_api, body)
    assert rejects(report) == [(2, "invalid_encoding", None)], report
    assert stored(db, f"{p}-1")[0] == "caf\u00e9" and stored(db, f"{p}-3")[0] == "ok"
    assert stored(db, f"{p}-2") is None


@pytest.mark.rules("keep-going", "insert")
def test_an_invalid_record_never_stops_the_import(authed_api, db):
    p = new_prefix()
    rows = [f"{p}-{i},item {i},{i}.25,{i}," for i in range(1, 301)]
    rows[0] = f"{p}-1,item 1,free,1,"
    rows[149] = f"{p}-150,item 150,1,1"
    rows[299] = f"{p}-300,,1,1,"
    report = imported(authed_api, HEADER + "\n" + "\n".join(rows) + "\n")
    assert counts(report) == (300, 297, 0, 0, 3), report
    assert rejects(report) == [(1, "invalid", "price"), (150, "wrong_field_count", None),
                               (300, "missing", "name")]  # fmt: skip
    assert stored_count(db, p) == 297
    assert stored(db, f"{p}-299") == ("item 299", Decimal("299.25"), 299, None)


@pytest.mark.rules("header", "refused-changes-nothing", "error-422")
def test_a_header_that_cannot_be_used_refuses_the_whole_body(authed_api, db):
    p = new_prefix()
    row = f"{p}-1,name,1,1,\n"
    for header in ("sku,name,price,available_from", "SKU,name,price,quantity,available_from",
                   "sku,name,price,quantity,sku", " sku,name,price,quantity,available_from",
                   f"{p}-0,name,1,1,"):  # fmt: skip
        assert_error(post_import(authed_api, header + "\n" + row, CSV), 422, "validation_error")
    assert_error(post_import(authed_api, b"", CSV), 422, "validation_error")
    assert_error(post_import(authed_api, b"sku,n\xe9me,price,quantity\n" + row.encode(), CSV),
                 422, "validation_error")  # fmt: skip
    assert stored_count(db, p) == 0


@pytest.mark.rules("header", "bom", "extra-columns")
def test_the_header_names_columns_in_any_order_and_a_bom_is_ignored(authed_api, db):
    p = new_prefix()
    body = f"\ufeffquantity,note,price,sku,name\n7,ignored,2.5,{p}-1,Lamp\n".encode()
    report = imported(authed_api, body)
    assert counts(report) == (1, 1, 0, 0, 0), report
    assert stored(db, f"{p}-1") == ("Lamp", Decimal("2.50"), 7, None)


@pytest.mark.rules("rejects-first-1000", "reject-report")
def test_rejects_lists_the_first_1000_rejected_records(authed_api, db):
    p = new_prefix()
    rows = [f"{p}-{i},item,bad,1," for i in range(1, 1206)]
    rows[9] = f"{p}-10,item,1,1,"  # row 10 is valid
    report = imported(authed_api, HEADER + "\n" + "\n".join(rows) + "\n")
    assert counts(report) == (1205, 1, 0, 0, 1204), report["counts"]
    listed = rejects(report)
    assert len(listed) == 1000
    assert [row for row, _, _ in listed] == [r for r in range(1, 1002) if r != 10]
    assert set((code, field) for _, code, field in listed) == {("invalid", "price")}
