"""NDJSON and JSON array imports: records as JSON objects, their types and their rejects."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from imports_api import (
    JSON,
    NDJSON,
    assert_error,
    counts,
    imported,
    new_prefix,
    post_import,
    rejects,
    stored,
    stored_count,
)


def record(sku, **fields):
    return {"sku": sku, "name": "Lamp", "price": 1, "quantity": 1, **fields}


def json_cases(p):
    """(record, code, field) of records that break one rule each, and ones at the edges."""
    return [
        ({"name": "x", "price": 1, "quantity": 1}, "missing", "sku"),
        (record(""), "missing", "sku"),
        (record(None), "missing", "sku"),
        (record(17), "invalid", "sku"),
        (record(f"{p}-a b"), "invalid", "sku"),
        (record(f"{p}-2", name=None), "missing", "name"),
        (record(f"{p}-3", name=5), "invalid", "name"),
        (record(f"{p}-4", name="a\u0000b"), "invalid", "name"),
        (record(f"{p}-4s", name="a\ud800b"), "invalid", "name"),
        (record(f"{p}-5", name="n" * 201), "invalid", "name"),
        (record(f"{p}-6", price="12.50"), "invalid", "price"),
        (record(f"{p}-7", price=True), "invalid", "price"),
        (record(f"{p}-8", price=-1), "invalid", "price"),
        (record(f"{p}-9", price=1000000), "invalid", "price"),
        (record(f"{p}-10", quantity="5"), "invalid", "quantity"),
        (record(f"{p}-11", quantity=True), "invalid", "quantity"),
        (record(f"{p}-12", quantity=1000001), "invalid", "quantity"),
        (record(f"{p}-13", quantity=-1), "invalid", "quantity"),
        (record(f"{p}-14", available_from="2026-02-29"), "invalid", "available_from"),
        (record(f"{p}-15", available_from=20260101), "invalid", "available_from"),
        (record(f"{p}-16", price=None, quantity="x"), "missing", "price"),
    ]


@pytest.mark.rules("ndjson-format", "json-types", "reason-codes", "field-order", "empty-lines",
                   "row-numbers", "keep-going", "extra-columns")  # fmt: skip
def test_an_ndjson_import_reads_one_object_per_line(authed_api, db):
    p = new_prefix()
    cases = json_cases(p)
    lines = [json.dumps(r) for r, _, _ in cases]
    # raw lines: numbers spelled as the JSON text has them
    lines.append(f'{{"sku": "{p}-20", "name": "n", "price": 12.345, "quantity": 1}}')
    lines.append(f'{{"sku": "{p}-21", "name": "n", "price": 1, "quantity": 5.0}}')
    lines.append(f'{{"sku": "{p}-22", "name": "n", "price": 1, "quantity": 5e0}}')
    lines.append("not json")
    lines.append("[1, 2]")
    lines.append("")
    lines.append(" \t")
    lines.append(f'{{"sku": "{p}-ok1", "name": "A", "price": 1.250e1, "quantity": 0, '
                 f'"available_from": null, "colour": "red"}}\r')  # fmt: skip
    lines.append(f'{{"sku": "{p}-ok2", "name": "B \\u00e9", "price": 7, "quantity": 1000000,'
                 f' "available_from": "2099-12-31"}}')  # fmt: skip
    lines.append(f'{{"sku": "{p}-ok3", "name": "C", "price": 0.1, "quantity": 2, '
                 f'"available_from": ""}}')  # fmt: skip
    report = imported(authed_api, "\n".join(lines) + "\n", NDJSON)
    assert report["format"] == "ndjson"
    n = len(cases)
    expected = [(i + 1, code, field) for i, (_, code, field) in enumerate(cases)]
    expected += [(n + 1, "invalid", "price"), (n + 2, "invalid", "quantity"),
                 (n + 3, "invalid", "quantity"), (n + 4, "malformed_row", None),
                 (n + 5, "malformed_row", None)]  # fmt: skip
    assert rejects(report) == expected
    assert counts(report) == (n + 8, 3, 0, 0, n + 5)
    assert stored(db, f"{p}-ok1") == ("A", Decimal("12.50"), 0, None)
    assert stored(db, f"{p}-ok2") == ("B \u00e9", Decimal("7.00"), 1000000, dt.date(2099, 12, 31))
    assert stored(db, f"{p}-ok3") == ("C", Decimal("0.10"), 2, None)
    assert stored_count(db, p) == 3


@pytest.mark.rules("ndjson-format", "encoding", "bom")
def test_an_ndjson_line_that_is_not_utf8_is_rejected(authed_api, db):
    p = new_prefix()
    body = (b"\xef\xbb\xbf" + json.dumps(record(f"{p}-1")).encode() + b"\r\n"
            + f'{{"sku": "{p}-2", "name": "caf'.encode() + b'\xe9", "price": 1, "quantity": 1}\n'
            + json.dumps(record(f"{p}-3")).encode())  # fmt: skip
    report = imported(authed_api, body, NDJSON)
    assert rejects(report) == [(2, "invalid_encoding", None)], report
    assert counts(report) == (3, 2, 0, 0, 1)
    assert stored(db, f"{p}-2") is None and stored(db, f"{p}-3") is not None


@pytest.mark.rules("json-format", "json-types", "reason-codes", "row-numbers", "keep-going")
def test_a_json_array_import_reads_one_record_per_element(authed_api, db):
    p = new_prefix()
    cases = json_cases(p)
    items = [r for r, _, _ in cases] + ["text", [1], 5,
                                        record(f"{p}-ok", price=2.5, available_from="2026-07-04")]
    report = imported(authed_api, json.dumps(items), JSON)
    assert report["format"] == "json"
    n = len(cases)
    expected = [(i + 1, code, field) for i, (_, code, field) in enumerate(cases)]
    expected += [(n + 1, "malformed_row", None), (n + 2, "malformed_row", None),
                 (n + 3, "malformed_row", None)]  # fmt: skip
    assert rejects(report) == expected
    assert counts(report) == (n + 4, 1, 0, 0, n + 3)
    assert stored(db, f"{p}-ok") == ("Lamp", Decimal("2.50"), 1, dt.date(2026, 7, 4))
    empty = imported(authed_api, "[]", JSON)
    assert counts(empty) == (0, 0, 0, 0, 0) and empty["rejects"] == []


@pytest.mark.rules("json-body", "error-413", "error-422", "refused-changes-nothing")
def test_a_json_body_that_is_not_an_array_or_over_1_mib_is_refused(authed_api, db):
    p = new_prefix()
    one = record(f"{p}-1")
    for body in (json.dumps(one), '{"items": []}', "[" + json.dumps(one), "",
                 b"[" + json.dumps(one).encode() + b', "\xff"]'):  # fmt: skip
        assert_error(post_import(authed_api, body, JSON), 422, "validation_error")
    big = [record(f"{p}-{i}", name="x" * 180) for i in range(5200)]
    text = json.dumps(big)
    assert len(text) > 1024 * 1024
    assert_error(post_import(authed_api, text, JSON), 413, "payload_too_large")
    assert stored_count(db, p) == 0


@pytest.mark.rules("json-body", "error-413", "chunked")
def test_a_json_body_of_exactly_1_mib_is_imported(authed_api, db):
    p = new_prefix()
    for i, extra in enumerate((0, 1)):
        text = json.dumps([record(f"{p}-{i}")])
        body = (text[:-1] + " " * (1024 * 1024 + extra - len(text)) + "]").encode()
        assert len(body) == 1024 * 1024 + extra
        chunked = (body[j : j + 65536] for j in range(0, len(body), 65536))
        for content in (body, chunked):
            response = post_import(authed_api, content, JSON)
            if extra:
                assert_error(response, 413, "payload_too_large")
            else:
                assert response.status_code == 201, response.text
    assert stored(db, f"{p}-0") is not None and stored(db, f"{p}-1") is None
