"""What every endpoint shares: health, bearer authentication first, 404 ids, malformed requests."""

from __future__ import annotations

import json

import pytest
from order_requests import assert_error, names_stored, new_order

MiB = 1024 * 1024
# "²" is a digit to Unicode but no integer; "1%2F2" decodes to "1/2"
BAD_IDS = [
    "0",
    "-1",
    "abc",
    "1.5",
    "1e3",
    "99999999999999999999999",
    "9223372036854775808",
    "2000000000",
    "²",
    "1%2F2",
]


def assert_unauthorized(response):
    assert_error(response, 401, "unauthorized")


def post_raw(client_factory, auth_headers, path, content, content_type):
    """A POST on a connection of its own: a server may close one whose body it did not read."""
    with client_factory(headers={**auth_headers, "Content-Type": content_type}) as client:
        return client.post(path, content=content)


@pytest.mark.rules("health-open")
def test_health_answers_ok_without_a_token(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.rules("auth-required", "error-body")
def test_every_operation_refuses_a_missing_or_wrong_token(api, authed_api, app_secret, unique, db):
    order = new_order(authed_api, unique("auth"), 1250)
    name = unique("intruder")
    operations = [
        ("GET", "/v1/orders", None),
        ("GET", f"/v1/orders?customer_name={order['customer_name']}", None),
        ("POST", "/v1/orders", {"customer_name": name, "amount_cents": 1}),
        ("GET", f"/v1/orders/{order['id']}", None),
        ("GET", "/v1/orders/1", None),
    ]
    wrong = [
        {},
        {"Authorization": f"Bearer {app_secret}x"},
        {"Authorization": f"Bearer {app_secret[:-1]}"},
        {"Authorization": "Bearer"},
        {"Authorization": app_secret},
        {"Authorization": f"bearer {app_secret}"},
        {"Authorization": f"Basic {app_secret}"},
    ]
    for method, path, body in operations:
        for headers in wrong:
            assert_unauthorized(api.request(method, path, json=body, headers=headers))
    assert names_stored(db, name) == 0
    assert authed_api.get(f"/v1/orders/{order['id']}").json() == order


@pytest.mark.rules("auth-first", "auth-required")
def test_token_is_checked_before_validation_and_lookup(api, unique, db):
    name = unique("first")
    for method, path, body in [
        ("POST", "/v1/orders", {"customer_name": "", "amount_cents": -1}),
        ("POST", "/v1/orders", {"customer_name": name, "amount_cents": 1}),
        ("POST", "/v1/orders", {"cust_name": name, "amount": "1.00"}),
        ("GET", "/v1/orders?limit=0", None),
        ("GET", "/v1/orders/abc", None),
        ("GET", "/v1/orders/9000000000000", None),
    ]:
        assert_unauthorized(api.request(method, path, json=body))
    assert names_stored(db, name) == 0


@pytest.mark.rules("path-id-404", "error-body")
@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_paths_with_an_id_that_names_no_order_are_404(authed_api, bad_id):
    assert_error(authed_api.get(f"/v1/orders/{bad_id}"), 404, "not_found")


@pytest.mark.rules("invalid-utf8-query", "validation-422", "error-body")
def test_a_query_value_that_is_not_utf8_is_a_422(authed_api):
    for path in ("/v1/orders?limit=%FF", "/v1/orders?offset=%FF%FE"):
        assert_error(authed_api.get(path), 422, "validation_error")


@pytest.mark.rules("invalid-utf8-body", "validation-422", "error-body")
def test_a_body_that_is_not_utf8_is_a_422_and_stores_nothing(client_factory, auth_headers, unique, db):
    # the byte FF is never UTF-8; read as U+FFFD, the amount is still no integer: 422 either way
    name = unique("utf8")
    body = b'{"customer_name": "%s", "amount_cents": "12\xff"}' % name.encode()
    response = post_raw(client_factory, auth_headers, "/v1/orders", body, "application/json")
    assert_error(response, 422, "validation_error")
    assert names_stored(db, name) == 0


@pytest.mark.rules("oversized-body")
def test_a_body_over_1_mib_is_refused_or_handled_like_any_other(
    authed_api, client_factory, auth_headers, unique, db
):
    name = unique("big")
    body = json.dumps({"customer_name": name, "amount_cents": 7, "padding": "x" * (MiB + 1024)})
    response = post_raw(
        client_factory, auth_headers, "/v1/orders", body.encode(), "application/json"
    )
    assert response.status_code in (201, 413, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    assert names_stored(db, name) == (1 if response.status_code == 201 else 0)
    assert authed_api.get("/health").status_code == 200


@pytest.mark.rules("content-type")
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_of_another_content_type_is_refused_or_read_as_json(
    client_factory, auth_headers, unique, db, content_type
):
    name = unique("ctype")
    body = json.dumps({"customer_name": name, "amount_cents": 1250}).encode()
    response = post_raw(client_factory, auth_headers, "/v1/orders", body, content_type)
    assert response.status_code in (201, 415, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    if response.status_code == 201:
        assert response.json()["customer_name"] == name
        assert response.json()["amount_cents"] == 1250
    assert names_stored(db, name) == (1 if response.status_code == 201 else 0)
