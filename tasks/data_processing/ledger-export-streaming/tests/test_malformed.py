"""Malformed requests: what the prompt settles for bytes, sizes, content types and paths."""

import json

import pytest
from ledger_api import BATCH, EXPORT, assert_error, entry, read_lines, results, stored

MiB = 1024 * 1024


def post_raw(client_factory, auth_headers, content: bytes, content_type: str):
    """POST a batch on a connection of its own, closed after: a server may close a connection
    whose body it did not read, and no other request may depend on it."""
    with client_factory(headers={**auth_headers, "Content-Type": content_type}) as client:
        return client.post(BATCH, content=content)


@pytest.mark.rules("health-ok")
def test_health_answers_ok_without_a_token(api):
    response = api.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.rules("invalid-utf8-body", "error-body")
def test_a_batch_body_that_is_not_utf8_is_422_and_stores_nothing(
    client_factory, auth_headers, unique, db
):
    account = unique("acct")
    valid = json.dumps({"entries": [entry(unique("e"), account)]}).encode()
    for raw in (
        valid[:-3] + b', "memo": "\xff\xfe"}]}',
        valid[:-3] + b', "memo": "caf\xe9"}]}',  # Latin-1
        valid.replace(b'"entries"', b'"entr\xffies"'),
    ):
        response = post_raw(client_factory, auth_headers, raw, "application/json")
        assert_error(response, 422, "validation_error")
    assert stored(db, "account = %s", (account,)) == []


@pytest.mark.rules("oversized-body")
def test_a_body_over_1_mib_is_refused_with_413_or_handled_like_any_other(
    api, client_factory, auth_headers, unique, db
):
    account = unique("acct")
    item = entry(unique("e"), account, 321, padding="x" * (MiB + 1024))
    body = json.dumps({"entries": [item]}).encode()
    response = post_raw(client_factory, auth_headers, body, "application/json")
    assert response.status_code in (200, 413), (response.status_code, response.text[:300])
    rows = stored(db, "account = %s", (account,))
    if response.status_code == 200:
        found = results(response, 200)
        assert found[0]["status"] == "created"
        assert [row[0] for row in rows] == [found[0]["id"]]
    else:
        assert rows == []
    assert api.get("/health").status_code == 200


@pytest.mark.rules("oversized-body", "batch-created")
def test_a_body_of_exactly_1_mib_is_handled(client_factory, auth_headers, unique, db):
    account = unique("acct")
    item = entry(unique("e"), account, 321, padding="")
    size = len(json.dumps({"entries": [item]}).encode())
    item["padding"] = "x" * (MiB - size)
    body = json.dumps({"entries": [item]}).encode()
    assert len(body) == MiB
    found = results(post_raw(client_factory, auth_headers, body, "application/json"), 200)
    assert found[0]["status"] == "created"
    assert [row[0] for row in stored(db, "account = %s", (account,))] == [found[0]["id"]]


@pytest.mark.rules("content-type")
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_of_another_content_type_is_refused_or_read_as_json(
    client_factory, auth_headers, unique, db, content_type
):
    account = unique("acct")
    body = json.dumps({"entries": [entry(unique("e"), account)]}).encode()
    response = post_raw(client_factory, auth_headers, body, content_type)
    assert response.status_code in (200, 415, 422), (response.status_code, response.text[:300])
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    expected = 1 if response.status_code == 200 else 0
    assert len(stored(db, "account = %s", (account,))) == expected


@pytest.mark.rules("invalid-utf8-query", "export-422", "export-empty")
def test_an_account_that_is_not_utf8_is_422_or_read_with_replacement_characters(authed_api):
    for query in ("account=%FF", "account=ops-side%FF", "account=ops%C0%80side"):
        response = authed_api.get(f"{EXPORT}?{query}")
        if response.status_code == 422:
            assert_error(response, 422, "validation_error")
            continue
        lines = read_lines(response)
        assert all("\ufffd" in line["account"] for line in lines), query
        assert all(line["account"] != "ops-side" for line in lines), query


@pytest.mark.rules("exact-paths", "error-body")
def test_paths_are_matched_exactly(authed_api):
    assert_error(authed_api.get(f"{EXPORT}/", params={"account": "ops-side"}), 404, "not_found")
    assert_error(authed_api.post(f"{BATCH}/", json={"entries": []}), 404, "not_found")
