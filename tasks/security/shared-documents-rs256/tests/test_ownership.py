"""Ownership and sharing: an owner reads, changes and deletes their documents, a user a
document is shared with only reads it (403 to change), anyone else gets a 404; the admin scope
opens the summary and nothing more; owners never come from a body."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from docs_api import (
    assert_error,
    documents_titled,
    people,  # noqa: F401 - a fixture
    same,
    stored_document,
    stored_shares,
)


def listed(person, **params):
    """The person's first page of documents (100), as {"items", "total"}."""
    response = person.client.get("/v1/documents", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return {"items": [same(d) for d in response.json()["items"]], "total": response.json()["total"]}


def counts(response):
    """The user summary's three fields."""
    assert response.status_code == 200, response.text
    return {k: response.json()[k] for k in ("user_id", "documents", "shared")}


@pytest.mark.rules("document-owner", "document-create")
def test_a_document_belongs_to_the_subject_of_the_token_that_created_it(people, db):
    alice = people.user("alice")
    document = alice.document("Quarterly plan", "Numbers")
    assert document["owner_id"] == alice.sub
    assert stored_document(db, document["id"]) == (alice.sub, "Quarterly plan", "Numbers")


@pytest.mark.rules("mass-assignment", "document-owner", "ids-server")
def test_owner_scope_and_id_in_a_create_body_are_ignored(people, db):
    alice, bob = people.user("alice"), people.user("bob")
    title = people.unique("claimed")
    response = alice.client.post(
        "/v1/documents",
        json={"title": title, "owner_id": bob.sub, "scope": "docs:admin", "role": "admin",
              "id": 987654321, "owner": bob.sub, "user_id": bob.sub},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["owner_id"] == alice.sub and document["id"] != 987654321, document
    assert db.execute("SELECT owner_id FROM documents WHERE title = %s", (title,)).fetchall() == [
        (alice.sub,)
    ]
    assert_error(bob.client.get(f"/v1/documents/{document['id']}"), 404, "not_found")
    # a scope in a body gives no scope: alice is still no admin
    assert_error(alice.client.get(f"/v1/admin/users/{alice.sub}"), 403, "forbidden")


@pytest.mark.rules("mass-assignment", "document-patch")
def test_a_patch_ignores_owner_id_and_every_unlisted_field(people, db):
    alice, bob = people.user("alice"), people.user("bob")
    document = alice.document("Stay mine", "Body")
    response = alice.client.patch(
        f"/v1/documents/{document['id']}",
        json={"owner_id": bob.sub, "title": "Still mine", "id": 987654323, "scope": "docs:admin"},
    )
    assert response.status_code == 200, response.text
    assert same(response.json()) == {**document, "title": "Still mine"}
    assert stored_document(db, document["id"]) == (alice.sub, "Still mine", "Body")
    assert_error(bob.client.get(f"/v1/documents/{document['id']}"), 404, "not_found")


@pytest.mark.rules("list-readable", "list-order")
def test_a_user_lists_their_own_and_shared_documents_only(people):
    alice, bob, carol = people.user("alice"), people.user("bob"), people.user("carol")
    first = alice.document()
    bobs_shared = bob.document(shared_with=[alice.sub, carol.sub])
    bob.document()  # bob's alone
    second = alice.document(shared_with=[bob.sub])
    assert listed(alice) == {"items": [second, bobs_shared, first], "total": 3}
    bobs = listed(bob)
    assert bobs["total"] == 3 and second in bobs["items"] and bobs_shared in bobs["items"]
    assert listed(carol) == {"items": [bobs_shared], "total": 1}
    assert listed(people.user("dave")) == {"items": [], "total": 0}


@pytest.mark.rules("bola", "refused-changes-nothing")
def test_another_users_document_is_404_to_read_change_and_delete(people, db):
    alice, bob = people.user("alice"), people.user("bob")
    document = alice.document("Private", "Secret body", [people.unique("carol")])
    missing = bob.client.get("/v1/documents/9223372036854775807")
    assert_error(missing, 404, "not_found")
    path = f"/v1/documents/{document['id']}"
    read = bob.client.get(path)
    assert_error(read, 404, "not_found")
    assert "Secret body" not in read.text and alice.sub not in read.text
    changed = bob.client.patch(path, json={"title": "Mine now", "shared_with": [bob.sub]})
    assert_error(changed, 404, "not_found")
    assert_error(bob.client.delete(path), 404, "not_found")
    assert stored_document(db, document["id"]) == (alice.sub, "Private", "Secret body")
    assert stored_shares(db, document["id"]) == document["shared_with"]
    assert alice.read(document["id"]) == document


@pytest.mark.rules("shared-read", "reader-403", "error-403", "refused-changes-nothing")
def test_a_user_a_document_is_shared_with_reads_it_but_cannot_change_or_delete_it(people, db):
    alice, bob = people.user("alice"), people.user("bob")
    document = alice.document("Shared", "For bob", [bob.sub])
    assert bob.read(document["id"]) == document
    path = f"/v1/documents/{document['id']}"
    for body in ({"title": "Bob's now"}, {"shared_with": [bob.sub, people.unique("x")]}, {}):
        assert_error(bob.client.patch(path, json=body), 403, "forbidden")
    assert_error(bob.client.delete(path), 403, "forbidden")
    assert stored_document(db, document["id"]) == (alice.sub, "Shared", "For bob")
    assert stored_shares(db, document["id"]) == [bob.sub]
    # the owner still changes it
    changed = alice.client.patch(path, json={"body": "Edited"})
    assert changed.status_code == 200 and changed.json()["body"] == "Edited", changed.text


@pytest.mark.rules("shared-read", "document-patch", "bola")
def test_unsharing_a_document_ends_the_readers_access(people, db):
    alice, bob, carol = people.user("alice"), people.user("bob"), people.user("carol")
    document = alice.document(shared_with=[bob.sub, carol.sub])
    assert bob.read(document["id"]) == document
    response = alice.client.patch(
        f"/v1/documents/{document['id']}", json={"shared_with": [carol.sub]}
    )
    assert response.status_code == 200, response.text
    assert same(response.json()) == {**document, "shared_with": [carol.sub]}
    assert stored_shares(db, document["id"]) == [carol.sub]
    assert_error(bob.client.get(f"/v1/documents/{document['id']}"), 404, "not_found")
    assert_error(bob.client.delete(f"/v1/documents/{document['id']}"), 404, "not_found")
    assert carol.read(document["id"])["shared_with"] == [carol.sub]


@pytest.mark.rules("admin-no-documents", "bola")
def test_the_admin_scope_gives_no_access_to_other_users_documents(people, db):
    alice, admin = people.user("alice"), people.admin()
    document = alice.document("Not for admins", "Body")
    path = f"/v1/documents/{document['id']}"
    assert_error(admin.client.get(path), 404, "not_found")
    assert_error(admin.client.patch(path, json={"title": "Admin's"}), 404, "not_found")
    assert_error(admin.client.delete(path), 404, "not_found")
    assert document not in listed(admin)["items"]
    assert stored_document(db, document["id"]) == (alice.sub, "Not for admins", "Body")
    # an admin's own documents are theirs as anyone's
    own = admin.document()
    assert own["owner_id"] == admin.sub and admin.read(own["id"]) == own
    assert_error(alice.client.get(f"/v1/documents/{own['id']}"), 404, "not_found")


@pytest.mark.rules("admin-summary")
def test_the_user_summary_counts_owned_and_shared_documents(people):
    alice, bob, admin = people.user("alice"), people.user("bob"), people.admin()
    first = alice.document(shared_with=[bob.sub])
    alice.document()
    bob.document(shared_with=[alice.sub, people.unique("carol")])

    def summary(user_id):
        return counts(admin.client.get(f"/v1/admin/users/{quote(user_id, safe='')}"))

    assert summary(alice.sub) == {"user_id": alice.sub, "documents": 2, "shared": 1}
    assert summary(bob.sub) == {"user_id": bob.sub, "documents": 1, "shared": 1}
    assert alice.client.delete(f"/v1/documents/{first['id']}").status_code == 204
    assert summary(alice.sub) == {"user_id": alice.sub, "documents": 1, "shared": 1}
    assert summary(bob.sub) == {"user_id": bob.sub, "documents": 1, "shared": 0}
    for nobody in (people.unique("nobody"), "a b?c%d#e", "\u00e9t\u00e9 \u2603", "x\u0000y"):
        assert summary(nobody) == {"user_id": nobody, "documents": 0, "shared": 0}


@pytest.mark.rules("admin-only", "error-403", "auth-first")
def test_the_user_summary_is_403_without_the_admin_scope_and_401_without_a_token(people, api):
    alice = people.user("alice")
    alice.document()
    for user_id in (alice.sub, people.unique("other"), "1"):
        assert_error(alice.client.get(f"/v1/admin/users/{user_id}"), 403, "forbidden")
        assert_error(api.get(f"/v1/admin/users/{user_id}"), 401, "unauthorized")


@pytest.mark.rules("bola", "refused-changes-nothing")
def test_a_deleted_or_foreign_document_answers_like_one_that_never_existed(people, db):
    alice, bob = people.user("alice"), people.user("bob")
    document = alice.document("Gone soon")
    gone = bob.document()
    assert bob.client.delete(f"/v1/documents/{gone['id']}").status_code == 204
    for ident in (gone["id"], document["id"]):
        path = f"/v1/documents/{ident}"
        assert_error(bob.client.get(path), 404, "not_found")
        assert_error(bob.client.patch(path, json={"title": "x"}), 404, "not_found")
        assert_error(bob.client.delete(path), 404, "not_found")
    assert documents_titled(db, "Gone soon") == 1
