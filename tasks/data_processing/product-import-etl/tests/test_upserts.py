"""Upserts by sku: inserted, updated, unchanged; a repeated import changes nothing."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from imports_api import (
    HEADER,
    NDJSON,
    counts,
    imported,
    new_prefix,
    rejects,
    stored,
    stored_count,
)


@pytest.mark.rules("idempotent", "unchanged", "insert", "no-duplicates", "get-import")
def test_importing_the_same_csv_again_changes_nothing(authed_api, db):
    p = new_prefix()
    body = (f"{HEADER}\n{p}-1,Lamp,12.5,3,2026-05-01\n{p}-2,Desk,bad,1,\n{p}-3,Chair,7,0,\n"
            f"{p}-4,Stool,1,1\n")  # fmt: skip
    first = imported(authed_api, body)
    assert counts(first) == (4, 2, 0, 0, 2)
    second = imported(authed_api, body)
    assert second["id"] != first["id"]
    assert counts(second) == (4, 0, 0, 2, 2), second
    assert rejects(second) == rejects(first) == [(2, "invalid", "price"),
                                                 (4, "wrong_field_count", None)]  # fmt: skip
    assert stored_count(db, p) == 2
    assert stored(db, f"{p}-1") == ("Lamp", Decimal("12.50"), 3, dt.date(2026, 5, 1))
    # the first report is kept as it was
    assert authed_api.get(f"/v1/imports/{first['id']}").json() == first


@pytest.mark.rules("update", "unchanged", "idempotent", "price-equal")
def test_changed_values_update_and_equal_values_leave_a_product_unchanged(authed_api, db):
    p = new_prefix()
    imported(authed_api, f"{HEADER}\n{p}-1,Lamp,12.5,3,2026-05-01\n{p}-2,Desk,4,1,2026-01-01\n"
                         f"{p}-3,Chair,7,0,\n{p}-4,Stool,1,1,\n")  # fmt: skip
    # 7.00 is 7; without an available_from column it is set to null
    report = imported(authed_api, f"sku,name,price,quantity\n{p}-1,Lamp,12.50,3\n{p}-2,Desk,4,1\n"
                                  f"{p}-3,Chair,7.00,0\n{p}-4,Stool,1.01,1\n{p}-5,New,1,1\n")
    assert counts(report) == (5, 1, 3, 1, 0), report
    assert stored(db, f"{p}-1") == ("Lamp", Decimal("12.50"), 3, None)
    assert stored(db, f"{p}-2") == ("Desk", Decimal("4.00"), 1, None)
    assert stored(db, f"{p}-4") == ("Stool", Decimal("1.01"), 1, None)
    # the same values through another format are unchanged too; a name's letter case counts
    lines = [json.dumps({"sku": f"{p}-3", "name": "Chair", "price": 7.0, "quantity": 0}),
             json.dumps({"sku": f"{p}-4", "name": "stool", "price": 1.01, "quantity": 1}),
             json.dumps({"sku": f"{p}-1", "name": "Lamp", "price": 12.5, "quantity": 3})]
    report = imported(authed_api, "\n".join(lines), NDJSON)
    assert counts(report) == (3, 0, 1, 2, 0), report
    assert stored(db, f"{p}-4")[0] == "stool"


@pytest.mark.rules("repeated-sku", "no-duplicates")
def test_a_sku_repeated_in_one_body_is_applied_in_row_order(authed_api, db):
    p = new_prefix()
    rows = [f"{p}-1,First,1,1,", f"{p}-2,Other,1,1,", f"{p}-1,Second,2,2,",
            f"{p}-1,Second,2,2,", f"{p}-1,Third,3,3,2026-03-03"]  # fmt: skip
    report = imported(authed_api, HEADER + "\n" + "\n".join(rows) + "\n")
    assert counts(report) == (5, 2, 2, 1, 0), report
    assert stored(db, f"{p}-1") == ("Third", Decimal("3.00"), 3, dt.date(2026, 3, 3))
    assert stored_count(db, p) == 2
    again = imported(authed_api, HEADER + "\n" + "\n".join(rows) + "\n")
    # applied in turn again: First and Second change the product, Third restores it
    assert counts(again) == (5, 0, 3, 2, 0), again
