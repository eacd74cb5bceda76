"""Batch writes: each entry on its own, results in request order, idempotent per external_id."""

import threading
import time
from datetime import timedelta, timezone

import pytest
from ledger_api import (
    BATCH,
    EXPORT,
    assert_error,
    entry,
    instant,
    parse_time,
    post_batch,
    results,
    stored,
    stored_by_external_id,
)


@pytest.mark.rules("batch-created", "batch-200", "batch-order")
def test_a_batch_of_valid_entries_stores_each_and_answers_200(authed_api, unique, db):
    account = unique("acct")
    sent = [entry(unique("e"), account, amount) for amount in (500, -75, 1)]
    sent[1]["memo"] = "refund"
    sent[2]["note"] = "fields not listed are ignored"
    found = results(post_batch(authed_api, sent), 200)
    assert [r["status"] for r in found] == ["created"] * 3
    rows = stored_by_external_id(db, [item["external_id"] for item in sent])
    assert [row[0] for row in rows] == [r["id"] for r in found]
    for row, item in zip(rows, sent, strict=True):
        assert row[1:3] == (item["account"], item["amount_cents"])
        assert row[3] == parse_time(item["posted_at"])
        assert row[4] == item.get("memo", "") and row[5] == item["external_id"]


@pytest.mark.rules("batch-partial", "batch-207", "batch-order", "batch-invalid-item")
def test_invalid_entries_fail_alone_and_the_valid_ones_are_stored(authed_api, unique, db):
    account = unique("acct")
    good = [entry(unique("e"), account, n) for n in (10, 20, 30, 40)]
    sent = [
        {**good[0], "amount_cents": 0},  # invalid
        good[1],
        "not an entry",  # invalid
        good[2],
        {key: value for key, value in good[3].items() if key != "posted_at"},  # invalid
        good[0] | {"external_id": unique("e")},
    ]
    found = results(post_batch(authed_api, sent), 207)
    assert [r["status"] for r in found] == [
        "failed", "created", "failed", "created", "failed", "created"]  # fmt: skip
    for r in (found[0], found[2], found[4]):
        assert r["error"]["code"] == "validation_error" and r["error"]["message"]
        assert "id" not in r or r["id"] is None
    rows = stored(db, "account = %s", (account,))
    assert [row[5] for row in rows] == [
        sent[1]["external_id"], sent[3]["external_id"], sent[5]["external_id"]]  # fmt: skip
    assert [row[0] for row in rows] == [found[1]["id"], found[3]["id"], found[5]["id"]]
    assert [row[2] for row in rows] == [20, 30, 10]


@pytest.mark.rules("batch-207", "batch-invalid-item")
def test_a_batch_whose_every_entry_fails_is_207_and_stores_nothing(authed_api, unique, db):
    account = unique("acct")
    sent = [entry(unique("e"), account, 0), entry("bad id with spaces", account)]
    found = results(post_batch(authed_api, sent), 207)
    assert [r["status"] for r in found] == ["failed", "failed"]
    assert stored(db, "account = %s", (account,)) == []


INVALID_ITEMS = {
    "external_id empty": {"external_id": ""},
    "external_id 65 characters": {"external_id": "x" * 65},
    "external_id with a space": {"external_id": "a b"},
    "external_id with a slash": {"external_id": "a/b"},
    "external_id a number": {"external_id": 5},
    "account empty": {"account": ""},
    "account 65 characters": {"account": "a" * 65},
    "account with a control character": {"account": "ops\x01main"},
    "account with DEL": {"account": "ops\x7fmain"},
    "account null": {"account": None},
    "amount 0": {"amount_cents": 0},
    "amount 1.0": {"amount_cents": 1.0},
    "amount as text": {"amount_cents": "5"},
    "amount true": {"amount_cents": True},
    "amount over 10^12": {"amount_cents": 10**12 + 1},
    "amount under -10^12": {"amount_cents": -(10**12) - 1},
    "posted_at without offset": {"posted_at": "2030-01-01T10:00:00"},
    "posted_at a date": {"posted_at": "2030-01-01"},
    "posted_at no such day": {"posted_at": "2030-02-30T10:00:00Z"},
    "posted_at 7 fraction digits": {"posted_at": "2030-01-01T10:00:00.1234567Z"},
    "posted_at before year 1 in UTC": {"posted_at": "0001-01-01T00:30:00+01:00"},
    "posted_at a number": {"posted_at": 1893456000},
    "memo 201 characters": {"memo": "m" * 201},
    "memo with NUL": {"memo": "a\x00b"},
    "memo a number": {"memo": 5},
    "memo with a lone surrogate": {"memo": "a\ud800b"},
    "account with a lone surrogate": {"account": "ops-\udfffmain"},
}


@pytest.mark.rules("batch-invalid-item", "batch-partial", "timestamp-format", "account-format",
                   "lone-surrogate",
                   "item-fields")  # fmt: skip
@pytest.mark.parametrize("case", sorted(INVALID_ITEMS))
def test_an_entry_breaking_a_field_rule_fails_and_is_not_stored(authed_api, unique, db, case):
    account = unique("acct")
    valid = entry(unique("e"), account, 700)
    broken = {**entry(unique("e"), account, 800), **INVALID_ITEMS[case]}
    found = results(post_batch(authed_api, [valid, broken]), 207)
    assert found[0]["status"] == "created"
    assert found[1]["status"] == "failed" and found[1]["error"]["code"] == "validation_error"
    ids = [valid["external_id"], broken["external_id"]] if isinstance(
        broken["external_id"], str) else [valid["external_id"]]  # fmt: skip
    assert [row[5] for row in stored_by_external_id(db, ids)] == [valid["external_id"]]


@pytest.mark.rules("item-fields", "account-format", "timestamp-format", "batch-200")
def test_the_edges_of_a_valid_entry_are_stored(authed_api, unique, db):
    account = unique("acct")
    sent = [
        entry(unique("e"), account, 10**12),
        entry(unique("e"), account, -(10**12), memo="m" * 200),
        entry(unique("e")[:40] + "._:-AZaz09", account, 3),
        {**entry(unique("e"), account, 4), "posted_at": "2030-06-01T12:00:00.5+05:30"},
        entry((unique("e") + "x" * 64)[:64], (account + "a" * 64)[:64], 5),
        entry(unique("e"), f"{account} ünï ∑", 6),
    ]
    found = results(post_batch(authed_api, sent), 200)
    assert [r["status"] for r in found] == ["created"] * len(sent)
    rows = stored_by_external_id(db, [item["external_id"] for item in sent])
    assert [row[5] for row in rows] == [item["external_id"] for item in sent]
    assert rows[0][4] == "", "an absent memo is stored as an empty string"
    assert rows[1][4] == "m" * 200
    assert rows[3][3] == parse_time("2030-06-01T06:30:00.5Z")
    assert rows[4][1] == (account + "a" * 64)[:64] and rows[5][1] == f"{account} ünï ∑"


@pytest.mark.rules("idempotent-existing", "batch-200", "external-id-once")
def test_sending_the_same_entries_again_answers_existing_and_stores_nothing_new(
    authed_api, unique, db
):
    account = unique("acct")
    moment = instant()
    sent = [entry(unique("e"), account, 111, posted_at=moment, memo="first"),
            entry(unique("e"), account, 222)]  # fmt: skip
    first = results(post_batch(authed_api, sent), 200)
    again = results(post_batch(authed_api, sent), 200)
    assert [r["status"] for r in again] == ["existing", "existing"]
    assert [r["id"] for r in again] == [r["id"] for r in first]
    # the same instant written with another offset is the same posted_at
    shifted = {**sent[0], "posted_at": moment.astimezone(timezone(timedelta(hours=-3))).isoformat()}
    third = results(post_batch(authed_api, [shifted]), 200)
    assert third == [{**third[0], "index": 0, "status": "existing", "id": first[0]["id"]}]
    assert len(stored(db, "account = %s", (account,))) == 2


@pytest.mark.rules("idempotent-conflict", "batch-207", "external-id-once")
def test_an_external_id_stored_with_other_values_is_a_conflict_that_changes_nothing(
    authed_api, unique, db
):
    account = unique("acct")
    original = entry(unique("e"), account, 111, memo="first")
    created = results(post_batch(authed_api, [original]), 200)[0]
    before = stored(db, "account = %s", (account,))
    for change in ({"memo": "second"}, {"amount_cents": 112}, {"account": unique("acct")},
                   {"posted_at": "2031-01-01T00:00:00Z"}, {"memo": ""}):  # fmt: skip
        found = results(post_batch(authed_api, [{**original, **change}]), 207)
        assert found[0]["status"] == "failed", change
        assert found[0]["error"]["code"] == "external_id_conflict", change
    assert stored(db, "account = %s", (account,)) == before
    assert stored_by_external_id(db, [original["external_id"]])[0][0] == created["id"]


@pytest.mark.rules("idempotent-within-batch", "batch-order", "external-id-once")
def test_a_repeated_external_id_within_one_batch_is_handled_in_order(authed_api, unique, db):
    account = unique("acct")
    a = entry(unique("e"), account, 5)
    b = entry(unique("e"), account, 6)
    sent = [a, b, dict(a), {**b, "amount_cents": 7}, entry(unique("e"), account, 8)]
    found = results(post_batch(authed_api, sent), 207)
    assert [r["status"] for r in found] == ["created", "created", "existing", "failed", "created"]
    assert found[2]["id"] == found[0]["id"]
    assert found[3]["error"]["code"] == "external_id_conflict"
    rows = stored(db, "account = %s", (account,))
    assert [(row[0], row[2]) for row in rows] == [
        (found[0]["id"], 5), (found[1]["id"], 6), (found[4]["id"], 8)]  # fmt: skip


def waiting_on_entries(db):
    """How many backends wait for a lock on ledger_entries (this test holds one)."""
    return db.scalar(
        "SELECT count(*) FROM pg_locks WHERE relation = 'ledger_entries'::regclass AND NOT granted"
    )


@pytest.mark.rules("external-id-once", "idempotent-existing")
def test_concurrent_batches_with_the_same_external_ids_store_each_once(
    client_factory, auth_headers, unique, db
):
    account = unique("acct")
    sent = [entry(unique("e"), account, n + 1) for n in range(4)]
    answers = {}

    def send(name):
        with client_factory(headers=auth_headers, deadline=30) as client:
            answers[name] = client.post(BATCH, json={"entries": sent})

    threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
    # while this test holds a SHARE lock, both batches reach the table and wait at their insert
    with db.transaction():
        db.execute("LOCK TABLE ledger_entries IN SHARE MODE")
        for thread in threads:
            thread.start()
        end = time.monotonic() + 4
        while time.monotonic() < end and waiting_on_entries(db) < 2:
            time.sleep(0.05)
    for thread in threads:
        thread.join(35)
    rows = stored(db, "account = %s", (account,))
    assert sorted(row[5] for row in rows) == sorted(item["external_id"] for item in sent), (
        "an external_id sent by two concurrent batches was stored twice")
    by_external_id = {row[5]: row[0] for row in rows}
    for name in (0, 1):
        found = results(answers[name], 200)
        assert [r["id"] for r in found] == [by_external_id[i["external_id"]] for i in sent]
    statuses = sorted(
        (answers[0].json()["results"][i]["status"], answers[1].json()["results"][i]["status"])
        for i in range(len(sent))
    )
    assert all(sorted(pair) == ["created", "existing"] for pair in statuses), statuses


@pytest.mark.rules("batch-shape-422", "error-body")
def test_a_batch_of_the_wrong_shape_or_size_is_422_and_stores_nothing(authed_api, unique, db):
    account = unique("acct")
    too_many = [entry(f"{account}-{n}", account, n + 1) for n in range(501)]
    for body in ({}, [], {"entries": []}, {"entries": {}}, {"entries": "x"}, {"entries": None},
                 [entry(unique("e"), account)], {"entries": too_many}):  # fmt: skip
        response = authed_api.post(BATCH, json=body, extensions={"deadline": 20})
        assert_error(response, 422, "validation_error")
    assert stored(db, "account = %s", (account,)) == []


@pytest.mark.rules("batch-size-500", "batch-200")
def test_a_batch_of_500_entries_is_stored(authed_api, unique, db):
    account = unique("acct")
    sent = [entry(f"{account}-{n}", account, n + 1) for n in range(500)]
    found = results(post_batch(authed_api, sent, deadline=30), 200)
    assert [r["status"] for r in found] == ["created"] * 500
    assert len(stored(db, "account = %s", (account,))) == 500


@pytest.mark.rules("auth-required", "error-body")
def test_both_endpoints_need_the_bearer_token(api, app_secret, unique, db):
    account = unique("acct")
    body = {"entries": [entry(unique("e"), account)]}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"bearer {app_secret}"},
                    {"Authorization": app_secret}, {"Authorization": f"Bearer {app_secret}x"}):  # fmt: skip
        assert_error(api.post(BATCH, json=body, headers=headers), 401, "unauthorized")
        assert_error(api.post(BATCH, json={"entries": []}, headers=headers), 401, "unauthorized")
        assert_error(api.get(EXPORT, params={"account": "ops-side"}, headers=headers),
                     401, "unauthorized")  # fmt: skip
        assert_error(api.get(EXPORT, headers=headers), 401, "unauthorized")
        assert_error(api.get("/v1/entries/1", headers=headers), 401, "unauthorized")
    assert stored(db, "account = %s", (account,)) == []
