"""Malformed requests: what the prompt settles for bytes, sizes and content types."""

import json

import pytest

MiB = 1024 * 1024


def assert_error(response, status, code):
    assert response.status_code == status, (
        response.request.method,
        str(response.request.url),
        response.text[:300],
    )
    body = response.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def post_raw(client_factory, auth_headers, path, content: bytes, content_type: str):
    """A POST on a connection of its own, closed after: a server may close a connection whose
    body it did not read, and no other request may depend on it."""
    with client_factory(headers={**auth_headers, "Content-Type": content_type}) as client:
        return client.post(path, content=content)


def owners_starting(db, prefix):
    return db.scalar("SELECT count(*) FROM accounts WHERE left(owner, length(%s)) = %s",
                     (prefix, prefix))  # fmt: skip


def open_pair(authed_api, unique):
    """Two new accounts holding 1000 and 0: their ids."""
    ids = []
    for opening in (1000, 0):
        response = authed_api.post("/accounts", json={"owner": unique("mal"), "balance": opening})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def money_of(db, source, target):
    """(source balance, target balance, transfers between them as (from, to, amount))."""
    balances = [
        db.scalar("SELECT balance FROM accounts WHERE id = %s", (account,))
        for account in (source, target)
    ]
    moved = db.execute(
        "SELECT from_account_id, to_account_id, amount FROM transfers"
        " WHERE from_account_id = ANY(%(ids)s) OR to_account_id = ANY(%(ids)s) ORDER BY id",
        {"ids": [source, target]},
    ).fetchall()
    return (*balances, moved)


def assert_moved_only_if_accepted(db, response, source, target, amount):
    """A 201 moved the amount once, as one stored transfer; any refusal moved nothing."""
    if response.status_code == 201:
        transfer = response.json()
        assert (transfer["from_account_id"], transfer["to_account_id"], transfer["amount"]) == (
            source, target, amount)  # fmt: skip
        assert money_of(db, source, target) == (1000 - amount, amount, [(source, target, amount)])
    else:
        assert money_of(db, source, target) == (1000, 0, [])


@pytest.mark.rules("invalid-utf8-body", "validation-422", "error-body", "refused-changes-nothing")
def test_a_body_that_is_not_utf8_is_422_and_changes_nothing(
    authed_api, client_factory, auth_headers, unique, db
):
    owner = unique("utf8")
    for raw in (
        b'{"owner": "%s\xff", "balance": 5}' % owner.encode(),
        b'{"owner": "%s", "balance": 5, "memo": "caf\xe9"}' % owner.encode(),  # Latin-1
    ):
        response = post_raw(client_factory, auth_headers, "/accounts", raw, "application/json")
        assert_error(response, 422, "validation_error")
    assert owners_starting(db, owner) == 0
    # a transfer that would be valid but for one byte moves nothing
    source, target = open_pair(authed_api, unique)
    for raw in (
        b'{"from_account_id": %d, "to_account_id": %d, "amount": 7, "memo": "\xff\xfe"}',
        b'{"from_account_id": %d, "to_account_id": %d, "amount": 7, "memo": "caf\xe9"}',
    ):
        raw = raw % (source, target)
        response = post_raw(client_factory, auth_headers, "/transfers", raw, "application/json")
        assert_error(response, 422, "validation_error")
    assert money_of(db, source, target) == (1000, 0, [])


@pytest.mark.rules("oversized-body", "no-5xx")
def test_a_body_over_1_mib_is_refused_or_handled_like_any_other(
    authed_api, client_factory, auth_headers, unique, db
):
    owner = unique("big")
    body = json.dumps({"owner": owner, "balance": 9, "padding": "x" * (MiB + 1024)}).encode()
    response = post_raw(client_factory, auth_headers, "/accounts", body, "application/json")
    assert response.status_code in (201, 413, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    if response.status_code == 201:
        assert response.json()["owner"] == owner and response.json()["balance"] == 9
    assert owners_starting(db, owner) == (1 if response.status_code == 201 else 0)
    source, target = open_pair(authed_api, unique)
    body = json.dumps({"from_account_id": source, "to_account_id": target, "amount": 30,
                       "padding": "y" * (MiB + 1024)}).encode()  # fmt: skip
    response = post_raw(client_factory, auth_headers, "/transfers", body, "application/json")
    assert response.status_code in (201, 413, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    assert_moved_only_if_accepted(db, response, source, target, 30)
    assert authed_api.get("/health").status_code == 200


@pytest.mark.rules("content-type", "no-5xx")
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_of_another_content_type_is_refused_or_read_as_json(
    authed_api, client_factory, auth_headers, unique, db, content_type
):
    owner = unique("ctype")
    body = json.dumps({"owner": owner, "balance": 4}).encode()
    response = post_raw(client_factory, auth_headers, "/accounts", body, content_type)
    assert response.status_code in (201, 415, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    if response.status_code == 201:
        assert response.json()["owner"] == owner and response.json()["balance"] == 4
    assert owners_starting(db, owner) == (1 if response.status_code == 201 else 0)
    source, target = open_pair(authed_api, unique)
    body = json.dumps({"from_account_id": source, "to_account_id": target, "amount": 11}).encode()
    response = post_raw(client_factory, auth_headers, "/transfers", body, content_type)
    assert response.status_code in (201, 415, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    assert_moved_only_if_accepted(db, response, source, target, 11)
