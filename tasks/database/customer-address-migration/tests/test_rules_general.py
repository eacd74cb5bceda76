"""What every endpoint shares: health, bearer authentication first, 404 ids, malformed requests."""

from __future__ import annotations

import json

import pytest
from customer_requests import address_body, assert_error, new_customer

MiB = 1024 * 1024
# "²" is a digit to Unicode but no integer; "1%2F2" decodes to "1/2"
BAD_IDS = [
    "0",
    "-1",
    "abc",
    "1.5",
    "1e3",
    "99999999999999999999999",
    "2000000000",
    "²",
    "1%2F2",
]


def assert_unauthorized(response):
    assert_error(response, 401, "unauthorized")


def emails_stored(db, email):
    return db.scalar("SELECT count(*) FROM customers WHERE email = %s", (email,))


def streets_stored(db, street):
    return db.scalar("SELECT count(*) FROM addresses WHERE street = %s", (street,))


@pytest.mark.rules("health-open")
def test_health_answers_ok_without_a_token(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.rules("auth-required", "error-body")
def test_every_operation_refuses_a_missing_or_wrong_token(api, authed_api, app_secret, unique, db):
    customer = new_customer(authed_api, unique, address=address_body(unique("auth")))
    cid = customer["id"]
    email = f"{unique('auth')}@example.com"
    street = unique("auth-street")
    operations = [
        ("GET", "/v1/customers", None),
        ("POST", "/v1/customers", {"name": "Intruder", "email": email}),
        ("GET", f"/v1/customers/{cid}", None),
        ("GET", f"/v1/customers/{cid}/addresses", None),
        (
            "POST",
            f"/v1/customers/{cid}/addresses",
            address_body("x", street=street, is_primary=True),
        ),
    ]
    wrong = [
        {},
        {"Authorization": f"Bearer {app_secret}x"},
        {"Authorization": "Bearer"},
        {"Authorization": app_secret},
        {"Authorization": f"Basic {app_secret}"},
    ]
    for method, path, body in operations:
        for headers in wrong:
            assert_unauthorized(api.request(method, path, json=body, headers=headers))
    assert emails_stored(db, email) == 0
    assert streets_stored(db, street) == 0
    assert authed_api.get(f"/v1/customers/{cid}").json() == customer


@pytest.mark.rules("auth-first", "auth-required")
def test_token_is_checked_before_validation_and_lookup(api, unique, db):
    street = unique("first")
    for method, path, body in [
        ("POST", "/v1/customers", {"name": "", "email": "not an email"}),
        ("POST", "/v1/customers", {"name": "Valid", "email": f"{unique('f')}@example.com"}),
        ("GET", "/v1/customers?limit=0", None),
        ("GET", "/v1/customers/abc", None),
        ("GET", "/v1/customers/2000000000/addresses", None),
        ("POST", "/v1/customers/2000000000/addresses", address_body(street)),
        ("POST", "/v1/customers/1/addresses", {"street": street, "country": "??"}),
    ]:
        assert_unauthorized(api.request(method, path, json=body))
    assert streets_stored(db, street) == 0


@pytest.mark.rules("path-id-404", "addresses-list", "address-add", "error-body")
@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_paths_with_an_id_that_names_no_customer_are_404(authed_api, bad_id, unique):
    assert_error(authed_api.get(f"/v1/customers/{bad_id}"), 404, "not_found")
    assert_error(authed_api.get(f"/v1/customers/{bad_id}/addresses"), 404, "not_found")
    response = authed_api.post(
        f"/v1/customers/{bad_id}/addresses", json=address_body(unique("404"))
    )
    assert_error(response, 404, "not_found")


@pytest.mark.rules("invalid-utf8-query", "validation-422", "error-body")
def test_a_query_value_that_is_not_utf8_is_a_422(authed_api):
    for path in ("/v1/customers?limit=%FF", "/v1/customers?offset=%FF%FE"):
        assert_error(authed_api.get(path), 422, "validation_error")


@pytest.mark.rules("invalid-utf8-body", "validation-422", "error-body")
def test_a_body_that_is_not_utf8_is_a_422_and_stores_nothing(
    client_factory, auth_headers, authed_api, unique, db
):
    # the byte FF is never UTF-8; read as U+FFFD, "F\ufffd" is still no country: 422 either way
    email = f"{unique('utf8')}@example.com"
    street = unique("utf8-street")
    address = b'{"street": "%s", "city": "Lyon\xff", "country": "F\xff"}' % street.encode()
    body = b'{"name": "Bad \xff", "email": "%s", "address": %s}' % (email.encode(), address)
    response = post_raw(client_factory, auth_headers, "/v1/customers", body, "application/json")
    assert_error(response, 422, "validation_error")
    path = f"/v1/customers/{new_customer(authed_api, unique)['id']}/addresses"
    response = post_raw(client_factory, auth_headers, path, address, "application/json")
    assert_error(response, 422, "validation_error")
    assert emails_stored(db, email) == 0
    assert streets_stored(db, street) == 0


def post_raw(client_factory, auth_headers, path, content, content_type):
    """A POST on a connection of its own: a server may close one whose body it did not read."""
    with client_factory(headers={**auth_headers, "Content-Type": content_type}) as client:
        return client.post(path, content=content)


@pytest.mark.rules("oversized-body")
def test_a_body_over_1_mib_is_refused_or_handled_like_any_other(
    authed_api, client_factory, auth_headers, unique, db
):
    email = f"{unique('big')}@example.com"
    body = json.dumps({"name": "Big", "email": email, "padding": "x" * (MiB + 1024)}).encode()
    response = post_raw(client_factory, auth_headers, "/v1/customers", body, "application/json")
    assert response.status_code in (201, 413, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    assert emails_stored(db, email) == (1 if response.status_code == 201 else 0)
    assert authed_api.get("/health").status_code == 200


@pytest.mark.rules("content-type")
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_of_another_content_type_is_refused_or_read_as_json(
    authed_api, client_factory, auth_headers, unique, db, content_type
):
    email = f"{unique('ctype')}@example.com"
    body = json.dumps({"name": "Typed", "email": email}).encode()
    response = post_raw(client_factory, auth_headers, "/v1/customers", body, content_type)
    assert response.status_code in (201, 415, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    if response.status_code == 201:
        assert response.json()["email"] == email
    assert emails_stored(db, email) == (1 if response.status_code == 201 else 0)
