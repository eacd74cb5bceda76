"""Documents as stored and served: fields, validation, sharing lists, paging, deletes, path
ids."""

from __future__ import annotations

import pytest
from docs_api import (
    KID_A,
    MAX_ID,
    assert_error,
    bearer,
    claims_for,
    documents_titled,
    people,  # noqa: F401 - a fixture
    same,
    stored_document,
    stored_shares,
    token,
)

# not a whole number from 1 to 2**63 - 1: each names nothing, even where a lenient parser would
# find the caller's own document ({id}; {hex} is its id in hexadecimal)
MALFORMED_IDS = ["abc", "0", "-{id}", "{id}.5", "{id}e0", "9223372036854775808", "%20{id}",
                 "{hex}", "{id}abc"]  # fmt: skip


def page(person, **params):
    response = person.client.get("/v1/documents", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    return [same(d) for d in body["items"]], body["total"]


@pytest.mark.rules("db-tables")
def test_the_tables_hold_the_stated_columns_and_foreign_key(db, people):
    people.user().document(shared_with=["someone"])  # the server has started and made its schema
    documents, shares = db.columns("documents"), db.columns("document_shares")
    whole, text = {"integer", "bigint"}, {"text", "character varying"}
    assert documents.get("id") in whole and documents.get("owner_id") in text, documents
    assert documents.get("title") in text and documents.get("body") == "text", documents
    assert shares.get("document_id") in whole and shares.get("user_id") in text, shares
    assert ("document_shares", "documents") in db.foreign_keys()


@pytest.mark.rules("document-create", "strings-verbatim", "ids-server", "shares-stored")
def test_create_document_answers_201_with_the_document_as_stored(people, db):
    alice = people.user("alice")
    cases = [
        ("Launch", "", []),
        ("Robert'); DROP TABLE documents;--", "x'); DELETE FROM document_shares;--", ["o'hara"]),
        ("\u00e9t\u00e9 \u2603 \U0001f680", 'line\nbreak\ttab \\ "q"', ["\u00e9", "b c", "%_"]),
        ("  spaced  ", "  ", ["z", "a", "m"]),
    ]
    for title, body, shared in cases:
        response = alice.client.post(
            "/v1/documents", json={"title": title, "body": body, "shared_with": shared}
        )
        assert response.status_code == 201, response.text
        document = same(response.json())
        assert document == {"id": document["id"], "owner_id": alice.sub, "title": title,
                            "body": body, "shared_with": sorted(shared)}  # fmt: skip
        assert isinstance(document["id"], int) and document["id"] >= 1, document
        assert stored_document(db, document["id"]) == (alice.sub, title, body)
        assert stored_shares(db, document["id"]) == sorted(shared)
        assert alice.read(document["id"]) == document
    # body and shared_with default to "" and []
    plain = alice.client.post("/v1/documents", json={"title": "Plain"})
    assert plain.status_code == 201, plain.text
    assert plain.json()["body"] == "" and plain.json()["shared_with"] == [], plain.text
    assert stored_shares(db, plain.json()["id"]) == []


@pytest.mark.rules("document-fields", "error-422", "strings-nul", "refused-changes-nothing")
def test_a_documents_title_and_body_are_validated(people, db):
    alice = people.user("alice")
    longest = alice.document("\u00e9" * 200, "\u00e9" * 20000)  # characters, not bytes
    assert stored_document(db, longest["id"]) == (alice.sub, "\u00e9" * 200, "\u00e9" * 20000)
    before = db.scalar("SELECT count(*) FROM documents WHERE owner_id = %s", (alice.sub,))
    for body in ({"title": ""}, {"title": "\u00e9" * 201}, {}, {"title": None}, {"title": 5},
                 {"title": ["x"]}, {"title": "a\u0000b"}, {"name": "not a title"},
                 {"title": "ok", "body": None}, {"title": "ok", "body": 5},
                 {"title": "ok", "body": "x" * 20001}, {"title": "ok", "body": "a\u0000b"},
                 {"title": "ok", "body": ["x"]}):  # fmt: skip
        assert_error(alice.client.post("/v1/documents", json=body), 422, "validation_error")
    after = db.scalar("SELECT count(*) FROM documents WHERE owner_id = %s", (alice.sub,))
    assert after == before


@pytest.mark.rules("shared-with-field", "error-422", "refused-changes-nothing")
def test_shared_with_is_at_most_20_distinct_user_ids(people, db):
    alice = people.user("alice")
    twenty = [f"user-{i}" for i in range(20)]
    full = alice.document(shared_with=twenty)
    assert full["shared_with"] == sorted(twenty)
    assert stored_shares(db, full["id"]) == sorted(twenty)
    edge = ["x" * 64, "\u00e9" * 64, "y"]
    assert alice.document(shared_with=edge)["shared_with"] == sorted(edge)
    title = people.unique("badshare")
    for shared in ([*twenty, "one-more"], ["a", "b", "a"], [""], ["x" * 65], ["a\u0000b"],
                   [5], [None], "alice", {"alice": True}, None, [["a"]]):  # fmt: skip
        response = alice.client.post("/v1/documents", json={"title": title, "shared_with": shared})
        assert_error(response, 422, "validation_error")
        response = alice.client.patch(f"/v1/documents/{full['id']}", json={"shared_with": shared})
        assert_error(response, 422, "validation_error")
    assert documents_titled(db, title) == 0
    assert stored_shares(db, full["id"]) == sorted(twenty)


@pytest.mark.rules("document-get")
def test_get_document_answers_the_document(people):
    alice = people.user("alice")
    document = alice.document("Read me", "Body", ["bob-x"])
    response = alice.client.get(f"/v1/documents/{document['id']}")
    assert response.status_code == 200, response.text
    assert same(response.json()) == document


@pytest.mark.rules("document-delete")
def test_deleting_a_document_deletes_its_shares(people, db):
    alice, bob = people.user("alice"), people.user("bob")
    document = alice.document(shared_with=[bob.sub, "carol-x"])
    kept = alice.document(shared_with=[bob.sub])
    response = alice.client.delete(f"/v1/documents/{document['id']}")
    assert response.status_code == 204 and response.content == b"", response.text
    assert stored_document(db, document["id"]) is None
    assert stored_shares(db, document["id"]) == []
    assert_error(alice.client.get(f"/v1/documents/{document['id']}"), 404, "not_found")
    assert_error(bob.client.get(f"/v1/documents/{document['id']}"), 404, "not_found")
    assert_error(alice.client.delete(f"/v1/documents/{document['id']}"), 404, "not_found")
    assert stored_shares(db, kept["id"]) == [bob.sub]
    assert bob.read(kept["id"]) == kept


@pytest.mark.rules("list-paging", "list-order", "unknown-query")
def test_the_document_list_pages_newest_first_with_a_total(people):
    alice = people.user("alice")
    made = [alice.document(f"p{i}") for i in range(5)]
    newest_first = list(reversed(made))
    assert page(alice) == (newest_first, 5)
    assert page(alice, limit=2) == (newest_first[:2], 5)
    assert page(alice, limit=2, offset=2) == (newest_first[2:4], 5)
    assert page(alice, limit=100, offset=4) == (newest_first[4:], 5)
    assert page(alice, offset=5) == ([], 5)
    assert page(alice, offset=99999999999999999999) == ([], 5)
    assert page(alice, limit="01", offset="00") == (newest_first[:1], 5)
    assert page(alice, sort="title", page=3, owner_id="x") == (newest_first, 5)


@pytest.mark.rules("list-paging", "list-readable")
def test_a_document_shared_with_its_own_owner_is_listed_once(people, db):
    alice = people.user("alice")
    document = alice.document(shared_with=[alice.sub, "bob-y"])
    assert page(alice) == ([document], 1)
    assert stored_shares(db, document["id"]) == sorted([alice.sub, "bob-y"])


@pytest.mark.rules("list-paging", "error-422", "query-utf8")
def test_a_limit_or_offset_that_is_not_digits_in_range_is_422(people):
    alice = people.user("alice")
    alice.document()
    for query in ("limit=0", "limit=101", "limit=abc", "limit=1.0", "limit=-1", "limit=%2B5",
                  "limit=", "limit=%FF", "offset=-1", "offset=1.5", "offset=abc",
                  "offset=%C3%28", "limit=99999999999999999999"):  # fmt: skip
        assert_error(alice.client.get(f"/v1/documents?{query}"), 422, "validation_error")


@pytest.mark.rules("document-patch", "shares-stored")
def test_a_patch_changes_only_the_fields_sent(people, db):
    alice = people.user("alice")
    neighbour = alice.document("Neighbour", "Untouched", ["r9"])
    document = alice.document("Draft", "Text", ["r1"])
    steps = [
        ({"body": "New text"}, {"body": "New text"}),
        ({"title": "Final"}, {"title": "Final"}),
        ({}, {}),
        ({"shared_with": ["r2", "r3"]}, {"shared_with": ["r2", "r3"]}),
        ({"body": ""}, {"body": ""}),
        ({"title": "Again", "body": "B", "shared_with": []},
         {"title": "Again", "body": "B", "shared_with": []}),
    ]  # fmt: skip
    expected = dict(document)
    for body, change in steps:
        expected.update(change)
        response = alice.client.patch(f"/v1/documents/{document['id']}", json=body)
        assert response.status_code == 200, response.text
        assert same(response.json()) == expected, body
        assert stored_document(db, document["id"]) == (
            alice.sub,
            expected["title"],
            expected["body"],
        )
        assert stored_shares(db, document["id"]) == expected["shared_with"]
    # no other document changed with it
    assert stored_document(db, neighbour["id"]) == (alice.sub, "Neighbour", "Untouched")
    assert stored_shares(db, neighbour["id"]) == ["r9"]


@pytest.mark.rules("document-patch", "error-422", "strings-nul", "refused-changes-nothing")
def test_a_patch_with_null_or_invalid_fields_is_422_and_changes_nothing(people, db):
    alice = people.user("alice")
    document = alice.document("Unchanged", "Body", ["r1"])
    for body in ({"title": None}, {"body": None}, {"shared_with": None}, {"title": ""},
                 {"title": "x" * 201}, {"title": 7}, {"title": "a\u0000b"}, {"body": 5},
                 {"title": "Half", "body": None}, {"body": "Half", "shared_with": ["a", "a"]},
                 {"title": "Half", "shared_with": "r2"}, {"body": "x" * 20001}):  # fmt: skip
        assert_error(
            alice.client.patch(f"/v1/documents/{document['id']}", json=body), 422,
            "validation_error",
        )  # fmt: skip
    assert stored_document(db, document["id"]) == (alice.sub, "Unchanged", "Body")
    assert stored_shares(db, document["id"]) == ["r1"]


@pytest.mark.rules("path-id", "document-get")
def test_the_smallest_id_1_names_a_document(people, db):
    people.user().document()  # a document exists: id 1 is the first one made, unless deleted
    row = db.execute("SELECT owner_id, title FROM documents WHERE id = 1").fetchone()
    if row is None:  # deleted by an earlier test: id 1 names nothing to anyone
        assert_error(people.user().client.get("/v1/documents/1"), 404, "not_found")
        return
    # its owner's own token (the tests hold the provider's keys)
    owner = people.factory(headers=bearer(token(claims_for(row[0]), KID_A)))
    response = owner.get("/v1/documents/1")
    assert response.status_code == 200, response.text
    assert response.json()["id"] == 1 and response.json()["title"] == row[1]


@pytest.mark.rules("not-found", "error-404", "refused-changes-nothing")
def test_unknown_document_ids_are_404(people, db):
    alice = people.user("alice")
    path = f"/v1/documents/{MAX_ID}"
    assert_error(alice.client.get(path), 404, "not_found")
    assert_error(alice.client.patch(path, json={"title": "Ghost"}), 404, "not_found")
    assert_error(alice.client.delete(path), 404, "not_found")
    assert documents_titled(db, "Ghost") == 0


@pytest.mark.rules("path-id", "refused-changes-nothing")
@pytest.mark.parametrize("bad", MALFORMED_IDS)
def test_a_malformed_path_id_names_nothing(people, db, bad):
    alice = people.user("alice")
    document = alice.document("Stays", "b")
    bad = bad.format(id=document["id"], hex=hex(document["id"]))
    title = people.unique("malformed")
    for method, path, body in (
        ("GET", f"/v1/documents/{bad}", None),
        ("PATCH", f"/v1/documents/{bad}", {"title": title}),
        ("DELETE", f"/v1/documents/{bad}", None),
    ):
        response = alice.client.request(method, path, json=body)
        assert_error(response, 404, "not_found")
    assert documents_titled(db, title) == 0
    assert stored_document(db, document["id"]) == (alice.sub, "Stays", "b")
