"""Download links: presigned URLs of the store that answer the exact bytes with the stated
headers, for exactly expires_in seconds; deletion removes the object from the store."""

from __future__ import annotations

import time

import pytest
from files_api import (
    assert_error,
    lifetime_of,
    people,  # noqa: F401 - a fixture
    rows_of,
    store_http,  # noqa: F401 - a fixture
    user_objects,
)


@pytest.mark.rules("link", "link-headers", "link-lifetime")
def test_a_link_answers_the_exact_bytes_with_the_stated_headers(people, store_http):
    user = people.make()
    body = b"id,amount\n1,9.50\n2,\xff\xfe raw bytes\n"
    made = user.file(body, name="sales_2026-q1.csv", content_type="text/csv; charset=utf-8")
    asked = time.time()
    response = user.link(made["id"])
    assert response.status_code == 200, response.text
    link = response.json()
    assert link["id"] == made["id"]
    assert link["expires_in"] == 300
    assert abs(lifetime_of(link["url"], asked) - 300) <= 2, link["url"]
    fetched = store_http.get(link["url"])
    assert fetched.status_code == 200, fetched.text[:300]
    assert fetched.content == body
    assert fetched.headers["content-type"] == "text/csv; charset=utf-8"
    assert fetched.headers["content-disposition"] == 'attachment; filename="sales_2026-q1.csv"'


@pytest.mark.rules("link-lifetime", "expires-in")
def test_a_link_expires_after_expires_in_seconds(people, store_http):
    user = people.make()
    made = user.file(b"short lived\n", name="short.txt", content_type="text/plain")
    asked = time.time()
    response = user.link(made["id"], expires_in=2)
    assert response.status_code == 200, response.text
    link = response.json()
    assert link["expires_in"] == 2
    assert abs(lifetime_of(link["url"], asked) - 2) <= 2, link["url"]
    fresh = store_http.get(link["url"])
    assert fresh.status_code == 200, fresh.text[:300]
    assert fresh.content == b"short lived\n"
    time.sleep(max(0.0, asked + 4.0 - time.time()))
    late = store_http.get(link["url"])
    assert late.status_code == 403, (late.status_code, late.text[:300])
    # a longer link asked at the same time still serves
    longer = user.link(made["id"], expires_in=3600).json()
    assert longer["expires_in"] == 3600
    assert abs(lifetime_of(longer["url"], time.time()) - 3600) <= 2, longer["url"]
    assert store_http.get(longer["url"]).content == b"short lived\n"


@pytest.mark.rules("expires-in")
def test_invalid_lifetimes_are_422(people, store_http):
    user = people.make()
    made = user.file()
    for raw in ("0", "3601", "-5", "1.5", "abc", "", "+5", " 5", "1e3", "99999999999999999999"):
        response = user.client.get(f"/v1/files/{made['id']}/download", params={"expires_in": raw})
        assert response.status_code == 422, (raw, response.status_code, response.text)
        assert_error(response, 422, "validation_error")
    for seconds in (1, 3600, 45):
        link = user.link(made["id"], expires_in=str(seconds)).json()
        assert link["expires_in"] == seconds
    assert store_http.get(user.link(made["id"], expires_in="0060").json()["url"]).status_code == 200


@pytest.mark.rules("link-no-store")
def test_a_link_is_made_without_the_store(people, peers, store_http):
    user = people.make()
    made = user.file()
    peers.s3.fault(method="*", prefix=f"/{peers.s3.bucket}/{user.prefix}", drop=True)
    started = time.monotonic()
    response = user.link(made["id"], expires_in=60)
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < 2.5
    assert response.json()["expires_in"] == 60


@pytest.mark.rules("delete", "object-key")
def test_a_delete_removes_the_object_and_the_metadata(people, peers, db, store_http):
    user = people.make()
    keep = user.file(b"keep\n", name="keep.csv")
    gone = user.file(b"gone\n", name="gone.csv")
    old_link = user.link(gone["id"]).json()["url"]
    response = user.client.delete(f"/v1/files/{gone['id']}")
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert user_objects(peers, user) == {keep["object_key"]: 5}
    assert rows_of(db, user) == 1
    for path in (f"/v1/files/{gone['id']}", f"/v1/files/{gone['id']}/download"):
        assert_error(user.client.get(path), 404, "not_found")
    assert_error(user.client.delete(f"/v1/files/{gone['id']}"), 404, "not_found")
    assert user.listed() == [keep]
    assert store_http.get(old_link).status_code in (403, 404)
    assert store_http.get(user.link(keep["id"]).json()["url"]).content == b"keep\n"
