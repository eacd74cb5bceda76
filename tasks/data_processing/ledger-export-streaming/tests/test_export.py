"""The NDJSON export: every matching entry once, ascending id, streamed in bounded memory."""

import http.client
import time
from datetime import timedelta, timezone
from urllib.parse import urlencode, urlsplit

import pytest
from ledger_api import (
    EXPORT,
    LARGE_ACCOUNT,
    PAGED_ACCOUNT,
    as_row,
    assert_error,
    entry,
    export,
    parse_time,
    post_batch,
    read_lines,
    results,
    rfc3339,
    stored,
)

MEMORY_BOUND_KIB = 24 * 1024
LARGE_DEADLINE = 90.0


@pytest.mark.rules("export-every-entry-once", "export-id-order", "export-memory", "export-ndjson")
def test_the_large_account_streams_every_entry_once_in_id_order_in_bounded_memory(
    server, client_factory, auth_headers, db
):
    # a fresh instance: its peak memory is this export's, not earlier tests' or the load's
    instance = server.start_instance()
    client = client_factory(base_url=instance.base_url, headers=auth_headers)
    assert len(export(client, account=PAGED_ACCOUNT)) > 0  # warm: connections, code paths
    before = server.peak_memory_kib(instance.name)
    lines = export(client, deadline=LARGE_DEADLINE, account=LARGE_ACCOUNT)
    after = server.peak_memory_kib(instance.name)
    expected = stored(db, "account = %s", (LARGE_ACCOUNT,))
    assert len(expected) > 150_000
    ids = [line["id"] for line in lines]
    assert len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} entries sent twice"
    assert ids == sorted(ids), "the lines are not in ascending id order"
    assert len(ids) == len(expected), f"{len(ids)} lines for {len(expected)} entries"
    assert [as_row(line) for line in lines] == expected
    grown = after - before
    assert grown <= MEMORY_BOUND_KIB, (
        f"the export raised the server's peak resident memory by {grown / 1024:.1f} MiB "
        f"({before / 1024:.1f} -> {after / 1024:.1f} MiB), over 24 MiB"
    )


@pytest.mark.rules("export-first-line", "export-disconnect")
def test_the_first_line_arrives_within_2_seconds_and_a_disconnect_holds_nothing(
    base_url, app_secret, db
):
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    try:
        started = time.monotonic()
        conn.request("GET", f"{EXPORT}?{urlencode({'account': LARGE_ACCOUNT})}",
                     headers={"Authorization": f"Bearer {app_secret}"})  # fmt: skip
        response = conn.getresponse()
        assert response.status == 200
        first = response.readline()
        waited = time.monotonic() - started
        assert first.endswith(b"\n") and first.startswith(b"{"), first[:100]
        assert waited <= 2.0, f"the first line took {waited:.2f} s"
    finally:
        conn.close()  # gone in the middle of the export
    end = time.monotonic() + 10
    while time.monotonic() < end:
        held = db.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND (state LIKE 'idle in transaction%%'"
            " OR (state = 'active' AND query ILIKE '%%ledger_entries%%'))"
        )
        if held == 0:
            break
        time.sleep(0.2)
    assert held == 0, "10 s after the client left, the export still holds a transaction"


@pytest.mark.rules("export-window", "export-every-entry-once", "export-id-order")
def test_from_is_inclusive_and_to_exclusive(authed_api, db):
    posted = [row[0] for row in db.execute(
        "SELECT posted_at FROM ledger_entries WHERE account = %s ORDER BY id", (PAGED_ACCOUNT,)
    ).fetchall()]  # fmt: skip
    low, high = posted[600], posted[3600]
    if low > high:
        low, high = high, low
    window = "account = %s AND posted_at >= %s AND posted_at < %s"
    expected = stored(db, window, (PAGED_ACCOUNT, low, high))
    assert len(expected) > 2000
    lines = export(authed_api, account=PAGED_ACCOUNT, **{"from": rfc3339(low), "to": rfc3339(high)})
    assert [as_row(line) for line in lines] == expected
    # the same instants written with other offsets
    plus_two = low.astimezone(timezone(timedelta(hours=2))).isoformat()
    minus_five = high.astimezone(timezone(timedelta(hours=-5))).isoformat()
    lines = export(authed_api, account=PAGED_ACCOUNT, **{"from": plus_two, "to": minus_five})
    assert [line["id"] for line in lines] == [row[0] for row in expected]
    # only one bound
    lines = export(authed_api, account=PAGED_ACCOUNT, **{"from": rfc3339(high)})
    assert [line["id"] for line in lines] == [
        row[0] for row in stored(db, "account = %s AND posted_at >= %s", (PAGED_ACCOUNT, high))
    ]
    lines = export(authed_api, account=PAGED_ACCOUNT, to=rfc3339(low))
    assert [line["id"] for line in lines] == [
        row[0] for row in stored(db, "account = %s AND posted_at < %s", (PAGED_ACCOUNT, low))
    ]


@pytest.mark.rules("export-ndjson", "export-fields", "batch-created")
def test_each_line_is_one_entry_with_its_fields(authed_api, unique, db):
    account = unique("acct") + " O'Hara & 100%_\\ \"q\" ;--"  # any text but control characters
    sent = [
        entry(unique("e"), account, -4200, memo='quote " backslash \\ newline \n tab \t é €'),
        entry(unique("e"), account, 99, memo=""),
        entry(unique("e"), account, 10**12),
    ]
    created = results(post_batch(authed_api, sent), 200)
    response = authed_api.get(EXPORT, params={"account": account})
    lines = read_lines(response)
    assert response.content.count(b"\n") == 3, response.content[:600]
    assert [as_row(line) for line in lines] == stored(db, "account = %s", (account,))
    for line, item, result in zip(lines, sent, created, strict=True):
        assert line["id"] == result["id"]
        assert line["external_id"] == item["external_id"]
        assert line["memo"] == item.get("memo", "")
        assert line["amount_cents"] == item["amount_cents"]
        assert parse_time(line["posted_at"]) == parse_time(item["posted_at"])


@pytest.mark.rules("export-empty")
def test_an_account_without_entries_is_an_empty_200(authed_api, unique):
    response = authed_api.get(EXPORT, params={"account": unique("nobody")})
    assert read_lines(response) == []
    assert response.content == b""
    # a window in which the account has nothing
    response = authed_api.get(EXPORT, params={
        "account": PAGED_ACCOUNT, "from": "2099-01-01T00:00:00Z", "to": "2099-01-02T00:00:00Z"})  # fmt: skip
    assert read_lines(response) == []


@pytest.mark.rules("export-422", "timestamp-format", "account-format", "error-body")
@pytest.mark.parametrize("params", [
    {},
    {"account": ""},
    {"account": "a" * 65},
    {"account": "ops\x01main"},
    {"account": "ops\x7fmain"},
    {"account": PAGED_ACCOUNT, "from": "yesterday"},
    {"account": PAGED_ACCOUNT, "from": "2025-01-01T00:00:00"},
    {"account": PAGED_ACCOUNT, "from": "2025-01-01"},
    {"account": PAGED_ACCOUNT, "to": "2025-02-30T00:00:00Z"},
    {"account": PAGED_ACCOUNT, "to": "2025-01-01T00:00:00.1234567Z"},
    {"account": PAGED_ACCOUNT, "from": "0001-01-01T00:30:00+01:00"},
    {"account": PAGED_ACCOUNT, "from": "2025-01-02T00:00:00Z", "to": "2025-01-02T00:00:00Z"},
    {"account": PAGED_ACCOUNT, "from": "2025-01-03T00:00:00Z", "to": "2025-01-02T00:00:00Z"},
    {"account": PAGED_ACCOUNT, "from": "2025-01-02T01:00:00+01:00", "to": "2025-01-02T00:00:00Z"},
])  # fmt: skip
def test_an_invalid_export_query_is_422(authed_api, params):
    assert_error(authed_api.get(EXPORT, params=params), 422, "validation_error")


@pytest.mark.rules("account-format", "timestamp-format", "export-empty")
def test_the_edges_of_a_valid_export_query_are_served(authed_api, unique):
    for params in (
        {"account": (unique("acct") + "a" * 64)[:64]},
        {"account": "ünïcode ∑ account"},
        {"account": PAGED_ACCOUNT, "from": "2099-01-01T00:00:00.123456+05:30"},
        {"account": PAGED_ACCOUNT, "from": "9999-12-31T23:59:59Z"},
    ):
        assert read_lines(authed_api.get(EXPORT, params=params)) == [], params
    # a window one microsecond wide around a seeded instant holds exactly its entries
    first = export(authed_api, account=PAGED_ACCOUNT, to="2025-01-01T06:00:00Z")
    assert first, "ops-side has entries on the first morning"
    moment = as_row(first[0])[3]
    lines = export(authed_api, account=PAGED_ACCOUNT, **{
        "from": rfc3339(moment), "to": rfc3339(moment + timedelta(microseconds=1))})  # fmt: skip
    assert first[0]["id"] in [line["id"] for line in lines]
    assert all(as_row(line)[3] == moment for line in lines)


@pytest.mark.rules("read-entry", "read-entry-404", "export-fields", "error-body")
def test_an_entry_is_read_by_its_id_as_its_export_line(authed_api, unique, db):
    account = unique("acct")
    sent = entry(unique("e"), account, -31, memo="read me é")
    created = results(post_batch(authed_api, [sent]), 200)[0]
    line = export(authed_api, account=account)[0]
    response = authed_api.get(f"/v1/entries/{created['id']}")
    assert response.status_code == 200, response.text[:300]
    assert as_row(response.json()) == as_row(line)
    assert as_row(response.json()) == stored(db, "id = %s", (created["id"],))[0]
    seeded = stored(db, "account = %s AND id < 1000", (PAGED_ACCOUNT,))[0]
    assert as_row(authed_api.get(f"/v1/entries/{seeded[0]}").json()) == seeded
    missing = db.scalar("SELECT max(id) FROM ledger_entries") + 1_000_000
    assert_error(authed_api.get(f"/v1/entries/{missing}"), 404, "not_found")
    for bad in ("abc", "0", "-1", "1.5", str(2**63)):
        response = authed_api.get(f"/v1/entries/{bad}")
        assert response.status_code in (404, 422), (bad, response.status_code)
        assert_error(response, response.status_code,
                     "not_found" if response.status_code == 404 else "validation_error")  # fmt: skip
