"""Transfers one at a time: what moves, what is stored, what is refused and in which order."""

from datetime import datetime

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


def open_account(api, unique, balance):
    response = api.post("/accounts", json={"owner": unique("tr"), "balance": balance})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def balance(db, account_id):
    return db.scalar("SELECT balance FROM accounts WHERE id = %s", (account_id,))


def stored_transfers(db, *ids):
    """(from, to, amount) of every stored transfer touching the accounts, by id."""
    return db.execute(
        "SELECT from_account_id, to_account_id, amount FROM transfers"
        " WHERE from_account_id = ANY(%(ids)s) OR to_account_id = ANY(%(ids)s) ORDER BY id",
        {"ids": list(ids)},
    ).fetchall()


def same(transfer):
    """What must match between two answers about one transfer (created_at is checked apart)."""
    return {k: transfer[k] for k in ("id", "from_account_id", "to_account_id", "amount")}


def send(api, source, target, amount):
    return api.post(
        "/transfers", json={"from_account_id": source, "to_account_id": target, "amount": amount}
    )


@pytest.mark.rules("transfer-create", "transfer-moves-money", "transfer-get", "transfer-created-at")
def test_a_transfer_moves_the_amount_and_is_stored(authed_api, unique, db):
    a = open_account(authed_api, unique, 1000)
    b = open_account(authed_api, unique, 50)
    response = send(authed_api, a, b, 275)
    assert response.status_code == 201, response.text
    transfer = response.json()
    assert {k: transfer[k] for k in ("from_account_id", "to_account_id", "amount")} == {
        "from_account_id": a,
        "to_account_id": b,
        "amount": 275,
    }
    assert isinstance(transfer["id"], int) and transfer["id"] >= 1
    created = datetime.fromisoformat(transfer["created_at"].replace("Z", "+00:00"))
    assert created.tzinfo is not None
    assert (balance(db, a), balance(db, b)) == (725, 325)
    assert authed_api.get(f"/accounts/{a}").json()["balance"] == 725
    assert authed_api.get(f"/accounts/{b}").json()["balance"] == 325
    assert stored_transfers(db, a, b) == [(a, b, 275)]
    row_id = db.scalar(
        "SELECT id FROM transfers WHERE from_account_id = %s AND to_account_id = %s", (a, b)
    )
    assert row_id == transfer["id"]
    again = authed_api.get(f"/transfers/{transfer['id']}")
    assert again.status_code == 200
    assert same(again.json()) == same(transfer)


@pytest.mark.rules("transfer-list", "transfer-list-order")
def test_an_accounts_transfers_list_both_directions_by_id(authed_api, unique, db):
    a = open_account(authed_api, unique, 1000)
    b = open_account(authed_api, unique, 1000)
    c = open_account(authed_api, unique, 1000)
    made = []
    for source, target, amount in [(a, b, 10), (c, a, 20), (b, c, 30), (a, c, 40), (b, a, 50)]:
        response = send(authed_api, source, target, amount)
        assert response.status_code == 201, response.text
        made.append(response.json())
    listed = authed_api.get(f"/accounts/{a}/transfers")
    assert listed.status_code == 200
    expected = sorted(
        (t for t in made if a in (t["from_account_id"], t["to_account_id"])), key=lambda t: t["id"]
    )
    assert [same(t) for t in listed.json()["items"]] == [same(t) for t in expected]
    assert [t["amount"] for t in expected] == [10, 20, 40, 50]
    assert [t["id"] for t in authed_api.get(f"/accounts/{c}/transfers").json()["items"]] == sorted(
        t["id"] for t in made if c in (t["from_account_id"], t["to_account_id"])
    )
    # an account with no transfers lists none
    lonely = open_account(authed_api, unique, 5)
    assert authed_api.get(f"/accounts/{lonely}/transfers").json() == {"items": []}
    # the seeded history is listed too: the busiest seeded account, against the table
    busiest = db.scalar(
        "SELECT account FROM (SELECT from_account_id AS account FROM transfers WHERE id < 1000"
        " UNION ALL SELECT to_account_id FROM transfers WHERE id < 1000) AS t"
        " GROUP BY account ORDER BY count(*) DESC, account LIMIT 1"
    )
    rows = db.execute(
        "SELECT id, from_account_id, to_account_id, amount FROM transfers"
        " WHERE from_account_id = %(a)s OR to_account_id = %(a)s ORDER BY id",
        {"a": busiest},
    ).fetchall()
    seeded = authed_api.get(f"/accounts/{busiest}/transfers")
    assert seeded.status_code == 200
    got = [
        (t["id"], t["from_account_id"], t["to_account_id"], t["amount"])
        for t in seeded.json()["items"]
    ]
    assert got == [tuple(r) for r in rows]


@pytest.mark.rules("amount-rules", "integer-cents", "refused-changes-nothing", "validation-422")
def test_amount_must_be_an_integer_from_1_to_10_12(authed_api, client_factory, auth_headers, unique, db):
    a = open_account(authed_api, unique, MAX_CENTS)
    b = open_account(authed_api, unique, 0)
    for amount in (0, -1, -500, MAX_CENTS + 1, 10**30, 1.0, 2.5, "5", True, None, [5], {"v": 5}):
        assert_error(send(authed_api, a, b, amount), 422, "validation_error")
    raw = client_factory(headers={**auth_headers, "Content-Type": "application/json"})
    body = f'{{"from_account_id": {a}, "to_account_id": {b}, "amount": 1e2}}'.encode()
    assert_error(raw.post("/transfers", content=body), 422, "validation_error")
    # a number far too large for any integer type is out of range all the same
    huge = f'{{"from_account_id": {a}, "to_account_id": {b}, "amount": {"9" * 5000}}}'.encode()
    assert_error(raw.post("/transfers", content=huge), 422, "validation_error")
    missing = authed_api.post("/transfers", json={"from_account_id": a, "to_account_id": b})
    assert_error(missing, 422, "validation_error")
    assert (balance(db, a), balance(db, b)) == (MAX_CENTS, 0)
    assert stored_transfers(db, a, b) == []
    # the edges are accepted: 1 and 10^12
    assert send(authed_api, a, b, 1).status_code == 201
    assert send(authed_api, a, b, MAX_CENTS - 1).status_code == 201
    assert (balance(db, a), balance(db, b)) == (0, MAX_CENTS)
    assert send(authed_api, b, a, MAX_CENTS).status_code == 201
    assert (balance(db, a), balance(db, b)) == (MAX_CENTS, 0)


@pytest.mark.rules("account-ids-in-body", "validation-422")
def test_account_ids_in_the_body_must_be_positive_integers(authed_api, unique, db):
    a = open_account(authed_api, unique, 100)
    b = open_account(authed_api, unique, 100)
    for bad in (0, -1, float(a), str(a), None, True):
        assert_error(send(authed_api, bad, b, 5), 422, "validation_error")
        assert_error(send(authed_api, a, bad, 5), 422, "validation_error")
    assert_error(
        authed_api.post("/transfers", json={"to_account_id": b, "amount": 5}), 422, "validation_error"
    )
    assert (balance(db, a), balance(db, b)) == (100, 100)
    assert stored_transfers(db, a, b) == []


@pytest.mark.rules("same-account", "check-order", "refused-changes-nothing")
def test_a_transfer_to_the_same_account_is_refused(authed_api, unique, db):
    a = open_account(authed_api, unique, 500)
    assert_error(send(authed_api, a, a, 100), 422, "same_account")
    assert_error(send(authed_api, a, a, 500), 422, "same_account")
    assert_error(send(authed_api, a, a, 10**9), 422, "same_account")  # more than it holds
    missing = db.scalar("SELECT max(id) FROM accounts") + 10**6
    assert_error(send(authed_api, missing, missing, 5), 422, "same_account")  # no such account
    # a bad amount too: still a 422 (which of the two codes, the documents leave open)
    both = send(authed_api, a, a, 0)
    assert both.status_code == 422, both.text
    assert both.json()["error"]["code"] in ("validation_error", "same_account")
    assert balance(db, a) == 500
    assert stored_transfers(db, a) == []


@pytest.mark.rules("unknown-account-404", "check-order", "refused-changes-nothing")
def test_an_unknown_account_is_404_and_moves_nothing(authed_api, unique, db):
    a = open_account(authed_api, unique, 500)
    b = open_account(authed_api, unique, 500)
    missing = db.scalar("SELECT max(id) FROM accounts") + 10**6
    for source, target in ((a, missing), (missing, a), (missing, missing + 1), (a, 2**63), (2**70, b)):
        assert_error(send(authed_api, source, target, 100), 404, "not_found")
    # an unknown account comes before the funds: 404, not 409
    assert_error(send(authed_api, a, missing, 10**9), 404, "not_found")
    # a bad body comes before the accounts: 422, not 404
    assert_error(send(authed_api, a, missing, 0), 422, "validation_error")
    assert (balance(db, a), balance(db, b)) == (500, 500)
    assert stored_transfers(db, a, b, missing) == []
    assert db.scalar("SELECT count(*) FROM accounts WHERE id = %s", (missing,)) == 0


@pytest.mark.rules("insufficient-funds", "refused-changes-nothing", "balance-never-negative")
def test_a_transfer_beyond_the_balance_is_409_and_down_to_zero_is_fine(authed_api, unique, db):
    a = open_account(authed_api, unique, 50)
    b = open_account(authed_api, unique, 7)
    assert_error(send(authed_api, a, b, 51), 409, "insufficient_funds")
    assert (balance(db, a), balance(db, b)) == (50, 7)
    assert stored_transfers(db, a, b) == []
    assert send(authed_api, a, b, 50).status_code == 201  # exactly the balance
    assert (balance(db, a), balance(db, b)) == (0, 57)
    assert_error(send(authed_api, a, b, 1), 409, "insufficient_funds")
    empty = open_account(authed_api, unique, 0)
    assert_error(send(authed_api, empty, b, 1), 409, "insufficient_funds")
    assert send(authed_api, b, a, 57).status_code == 201
    assert (balance(db, a), balance(db, b), balance(db, empty)) == (57, 0, 0)
    assert stored_transfers(db, a, b, empty) == [(a, b, 50), (b, a, 57)]
    assert authed_api.get(f"/accounts/{b}").json()["balance"] == 0
