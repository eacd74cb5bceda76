"""The contract validator on the scenarios' own documents, in both directions, without I/O."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from backbench.catalogue import find_scenario
from backbench.contract import ContractValidator, UndocumentedOperation

JSON = {"content-type": "application/json"}
ITEM = {
    "id": 1, "name": "bolt", "sku": None, "price": 1.5, "quantity": 2,
    "created_at": "2024-05-01T10:00:00.123456+00:00",
}  # fmt: skip
NOTE_V2 = {
    "id": 3, "title": "t", "content": "", "tags": ["a"], "created_at": "2024-05-01T10:00:00Z",
    "version": 2,
}  # fmt: skip
LIMIT_HEADERS = {**JSON, "X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "19"}
ERROR = {"error": {"code": "not_found", "message": "no such item"}}


def validator(scenario_id: str) -> ContractValidator:
    return ContractValidator.from_file(find_scenario(scenario_id).openapi_file)


@pytest.fixture(scope="module")
def inventory() -> ContractValidator:
    return validator("inventory-crud")


@pytest.fixture(scope="module")
def notes() -> ContractValidator:
    return validator("notes-versioned-ratelimit")


@pytest.fixture(scope="module")
def orders() -> ContractValidator:
    return validator("orders-relational")


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


# -- conforming exchanges pass -----------------------------------------------------------------


def test_conforming_created_item_passes(inventory: ContractValidator) -> None:
    headers = {**JSON, "Location": "/v1/items/1"}
    assert inventory.check_exchange("POST", "/v1/items", 201, headers, body(ITEM)) == []


def test_conforming_page_and_error_pass(inventory: ContractValidator) -> None:
    page = {"items": [ITEM, {**ITEM, "id": 2, "sku": "A-1"}], "total": 9, "limit": 2, "offset": 0}
    assert inventory.check_exchange("GET", "/v1/items", 200, JSON, body(page)) == []
    assert inventory.check_exchange("GET", "/v1/items/77", 404, JSON, body(ERROR)) == []


def test_empty_204_passes(inventory: ContractValidator) -> None:
    assert inventory.check_exchange("DELETE", "/v1/items/1", 204, {}, b"") == []


def test_conforming_note_with_rate_limit_headers_passes(notes: ContractValidator) -> None:
    assert notes.check_exchange("GET", "/v2/notes/3", 200, LIMIT_HEADERS, body(NOTE_V2)) == []
    v1_list = [{"id": 1, "title": "t", "body": "b", "created_at": "2024-05-01T10:00:00-05:00"}]
    assert notes.check_exchange("GET", "/v1/notes", 200, LIMIT_HEADERS, body(v1_list)) == []


def test_conforming_order_passes(orders: ContractValidator) -> None:
    order = {
        "id": 5, "customer_id": 1, "status": "placed", "total": "25.00",
        "items": [{"product_id": 2, "quantity": 2, "unit_price": "12.50"}],
        "created_at": "2024-05-01T10:00:00+02:00",
    }  # fmt: skip
    assert orders.check_exchange("GET", "/orders/5", 200, JSON, body(order)) == []
    assert orders.operation("GET", "/customers/5/orders") is not None


def test_check_reads_an_httpx_response(inventory: ContractValidator) -> None:
    request = httpx.Request("GET", "http://127.0.0.1:8000/v1/items/1")
    good = httpx.Response(200, json=ITEM, request=request)
    bad = httpx.Response(200, json={**ITEM, "price": "cheap"}, request=request)
    assert inventory.check(good) == []
    assert inventory.check(bad) == [
        "GET /v1/items/1 -> 200: body.price: 'cheap' is not of type 'number'"
    ]


# -- every kind of violation fails with the path and the reason --------------------------------


def test_bad_date_time_fails(inventory: ContractValidator) -> None:
    problems = inventory.check_exchange(
        "POST", "/v1/items", 201, JSON, body({**ITEM, "created_at": "x"})
    )
    assert problems == ["POST /v1/items -> 201: body.created_at: 'x' is not a 'date-time'"]


def test_date_time_without_offset_fails(notes: ContractValidator) -> None:
    note = {**NOTE_V2, "created_at": "2024-05-01T10:00:00"}
    problems = notes.check_exchange("GET", "/v2/notes/3", 200, LIMIT_HEADERS, body(note))
    assert problems == [
        "GET /v2/notes/3 -> 200: body.created_at: '2024-05-01T10:00:00' is not a 'date-time'"
    ]


def test_wrong_type_fails(inventory: ContractValidator) -> None:
    problems = inventory.check_exchange("GET", "/v1/items/1", 200, JSON, body({**ITEM, "id": "1"}))
    assert problems == ["GET /v1/items/1 -> 200: body.id: '1' is not of type 'integer'"]


def test_missing_required_field_in_a_list_fails(inventory: ContractValidator) -> None:
    item = {k: v for k, v in ITEM.items() if k != "sku"}
    page = {"items": [ITEM, item], "total": 2, "limit": 20, "offset": 0}
    problems = inventory.check_exchange("GET", "/v1/items", 200, JSON, body(page))
    assert problems == ["GET /v1/items -> 200: body.items[1]: 'sku' is a required property"]


def test_bad_const_and_enum_fail(notes: ContractValidator, orders: ContractValidator) -> None:
    problems = notes.check_exchange(
        "POST", "/v2/notes", 201, LIMIT_HEADERS, body({**NOTE_V2, "version": 1})
    )
    assert problems == ["POST /v2/notes -> 201: body.version: 2 was expected"]
    order = {
        "id": 5, "customer_id": 1, "status": "shipped", "total": "1.00", "items": [],
        "created_at": "2024-05-01T10:00:00Z",
    }  # fmt: skip
    assert orders.check_exchange("GET", "/orders/5", 200, JSON, body(order)) == [
        "GET /orders/5 -> 200: body.status: 'placed' was expected"
    ]


def test_money_as_a_number_fails_its_pattern(orders: ContractValidator) -> None:
    product = {"id": 1, "name": "n", "price": "12.5", "stock": 1}
    problems = orders.check_exchange("GET", "/products/1", 200, JSON, body(product))
    assert problems == [
        "GET /products/1 -> 200: body.price: '12.5' does not match '^[0-9]+\\\\.[0-9]{2}$'"
    ]


def test_undocumented_status_fails(inventory: ContractValidator) -> None:
    problems = inventory.check_exchange("POST", "/v1/items", 400, JSON, body(ERROR))
    assert problems == [
        "POST /v1/items -> 400: status 400 is not documented"
        " (documented: 201, 401, 409, 422, 413, 415)"
    ]
    assert not isinstance(problems[0], UndocumentedOperation)


def test_error_body_of_the_wrong_shape_fails(inventory: ContractValidator) -> None:
    problems = inventory.check_exchange("GET", "/v1/items", 422, JSON, body({"detail": []}))
    assert problems == ["GET /v1/items -> 422: body: 'error' is a required property"]


def test_wrong_content_type_and_non_json_fail(inventory: ContractValidator) -> None:
    html = {"content-type": "text/html"}
    assert inventory.check_exchange("GET", "/health", 200, html, b"ok") == [
        "GET /health -> 200: content-type 'text/html' is not documented (application/json)"
    ]
    assert inventory.check_exchange("GET", "/health", 200, JSON, b"ok") == [
        "GET /health -> 200: body: not valid JSON (b'ok')"
    ]


def test_body_on_a_response_without_content_fails(inventory: ContractValidator) -> None:
    assert inventory.check_exchange("DELETE", "/v1/items/1", 204, {}, b"{}") == [
        "DELETE /v1/items/1 -> 204: body: none is documented, got 2 bytes"
    ]


def test_bad_header_fails(notes: ContractValidator) -> None:
    headers = {**LIMIT_HEADERS, "X-RateLimit-Limit": "100", "Retry-After": "0"}
    error = {"error": {"code": "rate_limited", "message": "slow down"}}
    problems = notes.check_exchange("GET", "/v1/notes", 429, headers, body(error))
    assert problems == [
        "GET /v1/notes -> 429: header Retry-After: 0 is less than the minimum of 1",
        "GET /v1/notes -> 429: header X-RateLimit-Limit: 20 was expected",
    ]


def test_undocumented_path_and_method_are_told_apart(inventory: ContractValidator) -> None:
    for method, path in (("GET", "/v1/nothing"), ("PUT", "/v1/items/1")):
        problems = inventory.check_exchange(method, path, 404, JSON, body(ERROR))
        assert len(problems) == 1 and isinstance(problems[0], UndocumentedOperation)
        assert problems[0] == f"{method} {path} -> 404: no operation of the document matches"
        assert inventory.operation(method, path) is None


def test_operations_list_every_documented_operation(orders: ContractValidator) -> None:
    labels = [op.label for op in orders.operations()]
    assert len(labels) == 11 and "POST /orders" in labels and "GET /customers/{id}/orders" in labels


def test_openapi_30_nullable_is_understood() -> None:
    document = {
        "openapi": "3.0.3",
        "paths": {"/x": {"get": {"responses": {"200": {
            "description": "ok",
            "content": {"application/json": {"schema": {
                "type": "object", "required": ["v"],
                "properties": {"v": {"type": "integer", "nullable": True, "minimum": 0,
                                     "exclusiveMinimum": True}},
            }}},
        }}}}},
    }  # fmt: skip
    contract = ContractValidator(document)
    assert contract.check_exchange("GET", "/x", 200, JSON, body({"v": None})) == []
    assert contract.check_exchange("GET", "/x", 200, JSON, body({"v": 1})) == []
    assert contract.check_exchange("GET", "/x", 200, JSON, body({"v": 0})) != []
