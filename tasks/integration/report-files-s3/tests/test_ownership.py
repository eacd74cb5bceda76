"""Ownership: another user's file is a 404 for every operation, and no two files share an
object, whatever names they were given."""

from __future__ import annotations

import pytest
from files_api import (
    assert_error,
    people,  # noqa: F401 - a fixture
    rows_of,
    store_http,  # noqa: F401 - a fixture
    user_objects,
)


@pytest.mark.rules("ownership", "refused-nothing")
def test_another_users_file_is_404_everywhere_and_stays(people, peers, db, store_http):
    alice, bob = people.make("alice"), people.make("bob")
    made = alice.file(b"alice's numbers\n", name="alice.csv")
    for path in (f"/v1/files/{made['id']}", f"/v1/files/{made['id']}/download",
                 f"/v1/files/{made['id']}/download?expires_in=60"):  # fmt: skip
        assert_error(bob.client.get(path), 404, "not_found")
    assert_error(bob.client.delete(f"/v1/files/{made['id']}"), 404, "not_found")
    assert bob.listed() == []
    assert alice.client.get(f"/v1/files/{made['id']}").json() == made
    assert rows_of(db, alice) == 1
    assert user_objects(peers, alice) == {made["object_key"]: len(b"alice's numbers\n")}
    link = alice.link(made["id"]).json()["url"]
    assert store_http.get(link).content == b"alice's numbers\n"


@pytest.mark.rules("no-shared-object", "object-key", "link")
def test_files_with_the_same_name_never_share_an_object(people, peers, store_http):
    alice, bob = people.make("alice"), people.make("bob")
    first = alice.file(b"alice 1\n", name="report.csv")
    second = alice.file(b"alice 2\n", name="report.csv")
    theirs = bob.file(b"bob\n", name="report.csv")
    keys = {first["object_key"], second["object_key"], theirs["object_key"]}
    assert len(keys) == 3
    for person, made, body in ((alice, first, b"alice 1\n"), (alice, second, b"alice 2\n"),
                               (bob, theirs, b"bob\n")):  # fmt: skip
        assert made["object_key"] == f"users/{person.sub}/{made['id']}"
        assert peers.s3.get(made["object_key"]).body == body
        assert store_http.get(person.link(made["id"]).json()["url"]).content == body
    assert set(user_objects(peers, alice)) == {first["object_key"], second["object_key"]}
    assert not any("report.csv" in key for key in peers.s3.objects())
