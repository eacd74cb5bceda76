"""The bookmarks API: what is stored and returned, validation, listing, deletion, auth."""

from __future__ import annotations

import pytest
from bookmarks_api import assert_error, four_fields, new_bookmark, read_bookmark, rows_mentioning


@pytest.mark.rules("health-ok")
def test_health_answers_ok(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.rules("create-201-location", "bookmark-fields", "get-bookmark", "stored-postgres")
def test_create_answers_201_with_location_and_stores_the_bookmark(api, authed_api, unique, db):
    title = unique("create")
    body = {"url": f"https://example.org/a?b=c#{title}", "title": title}
    response = authed_api.post("/v1/bookmarks", json=body)
    assert response.status_code == 201, response.text
    bookmark = four_fields(response.json())
    assert bookmark["url"] == body["url"] and bookmark["title"] == title
    location = response.headers.get("location", "")
    assert location.endswith(f"/v1/bookmarks/{bookmark['id']}"), location
    assert location.startswith(("/", "http://", "https://")), location
    assert read_bookmark(api, bookmark["id"]) == bookmark
    assert rows_mentioning(db, title) == 1


@pytest.mark.rules("server-assigned", "unknown-fields-ignored")
def test_create_ignores_client_id_created_at_and_unknown_fields(api, authed_api, unique):
    taken = new_bookmark(authed_api, unique)
    title = unique("client")
    body = {"url": "https://example.org/", "title": title, "id": taken["id"],
            "created_at": "1999-01-01T00:00:00+00:00", "owner": "mallory"}  # fmt: skip
    response = authed_api.post("/v1/bookmarks", json=body)
    assert response.status_code == 201, response.text
    bookmark = four_fields(response.json())
    assert bookmark["id"] != taken["id"]
    assert not bookmark["created_at"].startswith("1999")
    assert read_bookmark(api, taken["id"]) == taken
    assert read_bookmark(api, bookmark["id"])["title"] == title


@pytest.mark.rules("url-rules", "rejected-changes-nothing", "error-422")
def test_url_must_start_with_http_or_https_and_be_1_to_2048_characters(api, authed_api, unique, db):
    ok_long = "https://e.org/" + "a" * (2048 - len("https://e.org/"))
    for url in ("http://x", "https://x", ok_long, "https://e.org/" + "é" * 2034):
        created = new_bookmark(authed_api, unique, url=url)
        assert read_bookmark(api, created["id"])["url"] == url
    title = unique("badurl")
    for url in ("", ok_long + "a", "ftp://e.org/", "HTTP://e.org/", "Https://e.org/",
                "javascript:alert(1)", "//e.org/", "e.org", " https://e.org/"):  # fmt: skip
        response = authed_api.post("/v1/bookmarks", json={"url": url, "title": title})
        assert_error(response, 422, "validation_error")
    assert rows_mentioning(db, title) == 0


@pytest.mark.rules("title-rules", "rejected-changes-nothing", "error-422")
def test_title_is_1_to_200_characters(api, authed_api, unique, db):
    for title in ("t", unique("t").ljust(200, "x"), "é" * 200, "🔖" * 200):
        created = new_bookmark(authed_api, unique, title=title)
        assert read_bookmark(api, created["id"])["title"] == title
    marker = unique("badtitle")
    for title in ("", marker.ljust(201, "x"), "é" * 201):
        response = authed_api.post("/v1/bookmarks", json={"url": f"https://e.org/{marker}",
                                                          "title": title})  # fmt: skip
        assert_error(response, 422, "validation_error")
    assert rows_mentioning(db, marker) == 0


@pytest.mark.rules("field-types", "rejected-changes-nothing", "error-422")
def test_missing_non_string_or_nul_fields_are_422(authed_api, unique, db):
    marker = unique("types")
    url, title = f"https://e.org/{marker}", marker
    for body in ({"title": title}, {"url": url}, {"url": url, "title": None},
                 {"url": None, "title": title}, {"url": url, "title": 5},
                 {"url": [url], "title": title}, {"url": url, "title": {"t": title}},
                 {"url": url, "title": True}, {"url": url, "title": title + "\x00"},
                 {"url": url + "\x00", "title": title}):  # fmt: skip
        assert_error(authed_api.post("/v1/bookmarks", json=body), 422, "validation_error")
    assert rows_mentioning(db, marker) == 0


@pytest.mark.rules("strings-verbatim")
def test_strings_are_stored_and_returned_exactly(api, authed_api, unique, db):
    marker = unique("verbatim")
    title = f"<script>alert('{marker}')</script> \"quoted\" ; DROP TABLE x; -- \t ünïcode 🔖"
    url = f"https://example.org/p?q='{marker}'&x=%20<b>"
    created = new_bookmark(authed_api, unique, url=url, title=title)
    assert created["title"] == title and created["url"] == url
    assert read_bookmark(api, created["id"]) == created
    assert rows_mentioning(db, marker) == 1


@pytest.mark.rules("list-newest-first", "list-limit")
def test_list_is_newest_first_and_limited(api, authed_api, unique):
    made = [new_bookmark(authed_api, unique) for _ in range(3)]
    response = api.get("/v1/bookmarks", params={"limit": 3})
    assert response.status_code == 200
    items = [four_fields(b) for b in response.json()["items"]]
    assert items == list(reversed(made))
    one = api.get("/v1/bookmarks?limit=1").json()["items"]
    assert len(one) == 1 and one[0]["id"] >= made[-1]["id"]
    listed = api.get("/v1/bookmarks").json()["items"]
    ids = [b["id"] for b in listed]
    assert ids == sorted(ids, reverse=True) and len(ids) <= 20
    for _ in range(21 - len(ids)):
        new_bookmark(authed_api, unique)
    assert len(api.get("/v1/bookmarks").json()["items"]) == 20
    assert len(api.get("/v1/bookmarks", params={"limit": 100, "other": "x"}).json()["items"]) >= 21


@pytest.mark.rules("list-limit", "error-422", "invalid-utf8-query")
@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", "", "1e1", "%FF"])
def test_a_limit_out_of_range_or_not_an_integer_is_422(api, limit):
    assert_error(api.get(f"/v1/bookmarks?limit={limit}"), 422, "validation_error")


@pytest.mark.rules("delete-204", "error-404")
def test_delete_answers_204_then_the_bookmark_is_gone(api, authed_api, unique, db):
    bookmark = new_bookmark(authed_api, unique)
    response = authed_api.delete(f"/v1/bookmarks/{bookmark['id']}")
    assert response.status_code == 204 and response.content == b""
    assert read_bookmark(api, bookmark["id"]) is None
    assert_error(authed_api.delete(f"/v1/bookmarks/{bookmark['id']}"), 404, "not_found")
    assert rows_mentioning(db, bookmark["title"]) == 0


@pytest.mark.rules("delete-204")
def test_delete_removes_that_bookmark_only(api, authed_api, unique):
    kept, gone = new_bookmark(authed_api, unique), new_bookmark(authed_api, unique)
    assert authed_api.delete(f"/v1/bookmarks/{gone['id']}").status_code == 204
    assert read_bookmark(api, kept["id"]) == kept


@pytest.mark.rules("get-bookmark", "malformed-path-id")
def test_a_bookmark_far_down_the_id_sequence_is_served(api, authed_api, unique):
    # every id from 1 to 9223372036854775807 names a bookmark that exists: ids past the first
    # hundred too
    bookmark = new_bookmark(authed_api, unique)
    for _ in range(300):
        if bookmark["id"] > 300:
            break
        bookmark = new_bookmark(authed_api, unique)
    assert bookmark["id"] > 300, bookmark
    assert read_bookmark(api, bookmark["id"]) == bookmark


@pytest.mark.rules("error-404")
def test_an_unknown_id_is_404(api, authed_api):
    assert_error(api.get("/v1/bookmarks/3999999999"), 404, "not_found")
    assert_error(authed_api.delete("/v1/bookmarks/3999999999"), 404, "not_found")


@pytest.mark.rules("reads-public", "writes-need-token", "write-401-any-body", "error-401",
                   "rejected-changes-nothing")  # fmt: skip
def test_writes_without_token_are_401_whatever_the_body(api, authed_api, unique, db):
    bookmark = new_bookmark(authed_api, unique)
    title = unique("anon")
    for body in ({"url": "https://e.org/", "title": title}, {"title": title}, {}):
        assert_error(api.post("/v1/bookmarks", json=body), 401, "unauthorized")
    assert rows_mentioning(db, title) == 0
    assert_error(api.delete(f"/v1/bookmarks/{bookmark['id']}"), 401, "unauthorized")
    assert_error(api.delete("/v1/bookmarks/3999999999"), 401, "unauthorized")
    assert read_bookmark(api, bookmark["id"]) == bookmark


@pytest.mark.rules("write-401-any-body", "error-401", "rejected-changes-nothing")
def test_every_write_refuses_a_wrong_token(api, client_factory, authed_api, app_secret, unique, db):
    bookmark = new_bookmark(authed_api, unique)
    title = unique("wrong")
    wrong = ["Bearer not-the-secret", f"Bearer {app_secret}x", f"Bearer x{app_secret}",
             f"Bearer {app_secret[:-1]}", "Bearer", f"Basic {app_secret}", app_secret,
             f"Token {app_secret}"]  # fmt: skip
    for authorization in wrong:
        client = client_factory(headers={"Authorization": authorization})
        response = client.post("/v1/bookmarks", json={"url": "https://e.org/", "title": title})
        assert_error(response, 401, "unauthorized")
        assert_error(client.delete(f"/v1/bookmarks/{bookmark['id']}"), 401, "unauthorized")
    assert rows_mentioning(db, title) == 0
    assert read_bookmark(api, bookmark["id"]) == bookmark


@pytest.mark.rules("bearer-scheme")
@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_bearer_scheme_is_case_insensitive(api, client_factory, app_secret, unique, scheme):
    client = client_factory(headers={"Authorization": f"{scheme} {app_secret}"})
    bookmark = new_bookmark(client, unique)
    assert client.delete(f"/v1/bookmarks/{bookmark['id']}").status_code == 204
    assert read_bookmark(api, bookmark["id"]) is None
