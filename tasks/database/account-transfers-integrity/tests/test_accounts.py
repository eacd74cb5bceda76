"""Accounts: opening, reading back, what an owner and an opening balance may be, path ids."""

import json

import pytest

MAX_CENTS = 10**12


def assert_error(response, status, code):
    assert response.status_code == status, (
        response.request.method,
        response.request.url,
        response.request.content[:200],
        response.text,
    )
    body = response.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def stored(db, account_id):
    """(owner, balance) of a stored account, or None."""
    return db.execute(
        "SELECT owner, balance FROM accounts WHERE id = %s", (account_id,)
    ).fetchone()


def count_owner(db, owner):
    return db.scalar("SELECT count(*) FROM accounts WHERE owner = %s", (owner,))


@pytest.mark.rules("account-create", "account-get", "account-default-balance", "db-schema")
def test_an_account_is_created_stored_and_read_back(authed_api, unique, db):
    owner = unique("acct")
    response = authed_api.post("/accounts", json={"owner": owner, "balance": 12345})
    assert response.status_code == 201, response.text
    account = response.json()
    assert isinstance(account["id"], int) and account["id"] >= 1
    assert account == {"id": account["id"], "owner": owner, "balance": 12345}
    assert stored(db, account["id"]) == (owner, 12345)
    again = authed_api.get(f"/accounts/{account['id']}")
    assert again.status_code == 200
    assert again.json() == account
    # no balance given: the account opens empty
    empty = authed_api.post("/accounts", json={"owner": owner + "-empty"})
    assert empty.status_code == 201, empty.text
    assert empty.json()["balance"] == 0
    assert stored(db, empty.json()["id"]) == (owner + "-empty", 0)
    assert empty.json()["id"] != account["id"]


@pytest.mark.rules("owner-rules", "validation-422", "error-body")
def test_owner_is_one_to_100_characters_not_blank_without_nul(authed_api, unique, db):
    tag = unique("own")[-12:]
    # accepted, stored exactly as sent
    for owner in (
        "x",
        "é" * 100,
        f"  {tag} padded  ",
        f"Zoë O'Brien; DROP TABLE accounts; -- {tag}",
        f"李 {tag}",
    ):
        response = authed_api.post("/accounts", json={"owner": owner})
        assert response.status_code == 201, (owner, response.text)
        assert response.json()["owner"] == owner
        assert stored(db, response.json()["id"])[0] == owner
    # refused, nothing stored
    for owner in ("", "   ", "\t\n", "y" * 101, f"nul\x00{tag}", 5, None, ["a"], {"a": 1}, True):
        response = authed_api.post("/accounts", json={"owner": owner, "balance": 1})
        assert_error(response, 422, "validation_error")
        if isinstance(owner, str) and owner.strip():
            assert count_owner(db, owner.replace("\x00", "")) == 0
    assert_error(authed_api.post("/accounts", json={"balance": 10}), 422, "validation_error")


@pytest.mark.rules("opening-balance", "integer-cents", "validation-422")
def test_opening_balance_is_an_integer_from_0_to_10_12(authed_api, client_factory, auth_headers, unique, db):
    edge = authed_api.post("/accounts", json={"owner": unique("bal"), "balance": MAX_CENTS})
    assert edge.status_code == 201, edge.text
    assert edge.json()["balance"] == MAX_CENTS
    zero = authed_api.post("/accounts", json={"owner": unique("bal"), "balance": 0})
    assert zero.status_code == 201 and zero.json()["balance"] == 0
    for balance in (-1, MAX_CENTS + 1, 10**30, 1.5, 100.0, "100", True, None, [100]):
        owner = unique("badbal")
        response = authed_api.post("/accounts", json={"owner": owner, "balance": balance})
        assert_error(response, 422, "validation_error")
        assert count_owner(db, owner) == 0, balance
    # 1e2 is a JSON number with an exponent: not an integer, whatever its value
    owner = unique("badbal")
    raw = client_factory(headers={**auth_headers, "Content-Type": "application/json"})
    response = raw.post("/accounts", content=f'{{"owner": "{owner}", "balance": 1e2}}'.encode())
    assert_error(response, 422, "validation_error")
    assert count_owner(db, owner) == 0


@pytest.mark.rules("unknown-fields-ignored")
def test_unknown_fields_are_ignored_and_the_server_assigns_the_id(authed_api, unique, db):
    owner = unique("extra")
    taken = db.scalar("SELECT max(id) FROM accounts") + 1000
    response = authed_api.post(
        "/accounts", json={"owner": owner, "balance": 7, "id": taken, "colour": "blue"}
    )
    assert response.status_code == 201, response.text
    account = response.json()
    assert account["id"] != taken
    assert account == {"id": account["id"], "owner": owner, "balance": 7}
    assert stored(db, account["id"]) == (owner, 7)
    assert stored(db, taken) is None


@pytest.mark.rules("path-id-404", "account-get", "transfer-get", "account-transfers-404")
def test_path_ids_that_name_no_row_are_404(authed_api, unique, db):
    account = authed_api.post("/accounts", json={"owner": unique("path"), "balance": 3}).json()
    beyond = db.scalar("SELECT max(id) FROM accounts") + 10**6
    beyond_t = db.scalar("SELECT max(id) FROM transfers") + 10**6
    bad = ["abc", "0", "-1", "1.5", "1e3", str(beyond), str(2**63), "9" * 30, "%20", "+1"]
    for raw in bad:
        assert_error(authed_api.get(f"/accounts/{raw}"), 404, "not_found")
        assert_error(authed_api.get(f"/accounts/{raw}/transfers"), 404, "not_found")
    for raw in ["abc", "0", "-1", "1.5", str(beyond_t), str(2**63), "9" * 30]:
        assert_error(authed_api.get(f"/transfers/{raw}"), 404, "not_found")
    # leading zeros name the same account
    padded = authed_api.get(f"/accounts/00{account['id']}")
    assert padded.status_code == 200, padded.text
    assert padded.json() == account


@pytest.mark.rules("malformed-json", "validation-422")
def test_a_body_that_is_not_json_is_422_and_stores_nothing(client_factory, auth_headers, unique, db):
    owner = unique("broken")
    client = client_factory(headers={**auth_headers, "Content-Type": "application/json"})
    for content in (
        f'{{"owner": "{owner}", '.encode(),
        b"",
        b"[1, 2",
        b'{"owner": "\xff\xfe"}',
    ):
        assert_error(client.post("/accounts", content=content), 422, "validation_error")
    # a JSON value that is not an object is invalid input too
    for value in ([], "owner", 5, None):
        assert_error(client.post("/accounts", content=json.dumps(value).encode()), 422, "validation_error")
    assert count_owner(db, owner) == 0
