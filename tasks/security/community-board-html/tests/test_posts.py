"""Pages and posting: the home list, a post's page, the new-post form, search, field rules."""

from __future__ import annotations

import pytest
from board import (
    MAX_ID,
    location,
    parse,
    posts_titled,
    shows,
    stamp,
    stored_post,
    visitors,  # noqa: F401 - a fixture
)

BAD_LINKS = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "ftp://files.example/x",
    "//evil.example/x",
    "/relative/path",
    "https://",
    "http:///nohost",
    "https://exa mple.com/",
    "https://example.com/\n",
    "https://example.com/\x7f",
    "example.com",
    "https://example.com/" + "a" * 1981,  # 2001 characters
]
GOOD_LINKS = [
    "https://example.com/a",
    "http://example.com",
    'HTTPS://Example.COM/Path?q=1&r="2"#frag',
    "https://example.com/" + "a" * 1980,  # 2000 characters
]


@pytest.mark.rules("create-post", "author-from-session", "strings-verbatim")
def test_a_post_is_stored_with_the_session_user_as_author(visitors, db):
    alice, bob = visitors.member("alice"), visitors.member("bob")
    title = f"Hello {stamp()}"
    response = alice.send_post(
        title=title, body="Line one\nline two \u2603", link="https://example.com/x",
        author=bob.username, user_id="1", username=bob.username,
    )  # fmt: skip
    where = location(response)
    post_id = int(where.rsplit("/", 1)[1])
    assert where == f"/posts/{post_id}"
    assert stored_post(db, post_id) == (
        alice.username,
        title,
        "Line one\nline two \u2603",
        "https://example.com/x",
    )
    plain = alice.post(f"No link {stamp()}", "b")
    assert stored_post(db, plain)[3] == ""
    missing = alice.send_post(title=f"Missing link {stamp()}", body="b")
    assert stored_post(db, int(location(missing).rsplit("/", 1)[1]))[3] == ""


@pytest.mark.rules("post-page")
def test_a_posts_page_shows_its_title_body_author_and_link(visitors):
    alice = visitors.member("page")
    title, body, link = f"Page {stamp()}", "A body\nof two lines", "https://example.com/p?a=1&b=2"
    post_id = alice.post(title, body, link)
    page = visitors.anonymous().page(f"/posts/{post_id}")
    assert shows(page, title) and shows(page, body) and shows(page, alice.username)
    assert link in page.links()
    plain = alice.post(f"Plain {stamp()}", "no link here")
    assert not [
        h for h in visitors.anonymous().page(f"/posts/{plain}").links() if "example.com" in h
    ]


@pytest.mark.rules("post-404", "error-page")
def test_an_unknown_or_malformed_post_id_is_404(api):
    for post_id in (str(MAX_ID), "0", "-1", "abc", "1.5", "1e3", "9223372036854775808", "%201"):
        response = api.get(f"/posts/{post_id}")
        assert response.status_code == 404, (post_id, response.status_code)
        parse(response)


@pytest.mark.rules("home-list")
def test_home_lists_the_newest_posts_first_with_title_author_and_link(visitors):
    alice, bob = visitors.member("home"), visitors.member("home")
    made = [
        (alice.post(f"First {stamp()}", "b", "https://example.com/1"), alice),
        (bob.post(f"Second {stamp()}", "b"), bob),
        (alice.post(f"Third {stamp()}", "b", "http://example.com/3?x=<y>"), alice),
    ]
    page = visitors.anonymous().page("/")
    hrefs = [h for h in page.links() if h.startswith("/posts/") and h[7:].isdigit()]
    ids = [int(h[7:]) for h in hrefs]
    assert ids[:3] == [made[2][0], made[1][0], made[0][0]], ids[:5]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) <= 50
    for post_id, author in made:
        anchor = page.find("a", href=f"/posts/{post_id}")
        assert anchor, post_id
        assert shows(page, author.username)
    assert "https://example.com/1" in page.links()
    assert "http://example.com/3?x=<y>" in page.links()


@pytest.mark.rules("home-list")
def test_home_shows_at_most_50_posts(visitors):
    alice = visitors.member("fifty")
    token = alice.token()
    newest: list[int] = []
    # at least 52 posts, and on to ids past a few hundred, which must be served like any other
    while len(newest) < 52 or (newest[-1] < 300 and len(newest) < 400):
        response = alice.send_post(token=token, title=f"Many {len(newest)} {stamp()}", body="b")
        newest.append(int(location(response).rsplit("/", 1)[1]))
    page = visitors.anonymous().page("/")
    ids = [int(h[7:]) for h in page.links() if h.startswith("/posts/") and h[7:].isdigit()]
    assert ids == list(reversed(newest))[:50], ids[:3]
    last = visitors.anonymous().page(f"/posts/{newest[-1]}")
    assert shows(last, f"Many {len(newest) - 1} ")


@pytest.mark.rules("new-post-page", "csrf-field")
def test_the_new_post_form_needs_a_login_and_holds_the_token(visitors):
    response = visitors.anonymous().client.get("/posts/new")
    assert location(response).split("?")[0] == "/login"
    member = visitors.member("form")
    page = member.page("/posts/new")
    for name in ("title", "link"):
        assert page.find("input", name=name), name
    assert page.find("input", name="body") or page.find("textarea", name="body")
    hidden = page.find("input", name="csrf_token")
    assert hidden and hidden[0].attrs.get("type") == "hidden" and hidden[0].attrs.get("value")
    logout = [f for f in page.elements if f.tag == "form" and f.attrs.get("action") == "/logout"]
    assert logout, "no logout form"
    assert member.page("/").input_value("csrf_token"), "no token in the home page's logout form"


@pytest.mark.rules("post-fields", "error-page", "refused-changes-nothing")
def test_titles_and_bodies_out_of_bounds_are_400_and_store_nothing(visitors, db):
    alice = visitors.member("fields")
    token = alice.token()
    tag = stamp()
    cases = [
        {"title": "", "body": "b"},
        {"title": "t" * 201, "body": "b"},
        {"title": f"nul{tag}\x00", "body": "b"},
        {"title": f"T{tag}", "body": ""},
        {"title": f"T{tag}", "body": "b" * 10001},
        {"title": f"T{tag}", "body": "b\x00"},
        {"body": "b"},
        {"title": f"T{tag}"},
    ]
    for data in cases:
        response = alice.send_post(token=token, **data)
        assert response.status_code == 400, (data, response.status_code)
        parse(response)
    assert posts_titled(db, f"T{tag}") == 0 and posts_titled(db, "t" * 201) == 0
    longest = ("\u00e9" * 200)[: 200 - len(tag)] + tag
    post_id = alice.post(longest, "\u2603" * 10000)
    assert stored_post(db, post_id)[1:3] == (longest, "\u2603" * 10000)
    shortest = alice.post("x", "y")
    assert stored_post(db, shortest)[1:3] == ("x", "y")


@pytest.mark.rules("link-scheme", "refused-changes-nothing")
def test_a_link_must_be_an_http_or_https_url(visitors, db):
    alice = visitors.member("links")
    token = alice.token()
    for link in BAD_LINKS:
        title = f"Bad link {stamp()}"
        response = alice.send_post(token=token, title=title, body="b", link=link)
        assert response.status_code == 400, (link, response.status_code)
        assert posts_titled(db, title) == 0, link
    for link in GOOD_LINKS:
        post_id = alice.post(f"Good link {stamp()}", "b", link)
        assert stored_post(db, post_id)[3] == link
        assert link in visitors.anonymous().page(f"/posts/{post_id}").links()


@pytest.mark.rules("search")
def test_search_finds_titles_and_bodies_in_any_ascii_case_newest_first(visitors):
    alice = visitors.member("find")
    word = f"Zq{stamp()}Word"
    in_title = alice.post(f"About {word}", "nothing")
    in_body = alice.post(f"Other {stamp()}", f"mentions {word.upper()} here")
    alice.post(f"Unrelated {stamp()}", "nothing at all")
    page = visitors.anonymous().page("/search", q=word.lower())
    assert shows(page, f"Results for {word.lower()}")
    assert page.input_value("q") == word.lower()
    ids = [int(h[7:]) for h in page.links() if h.startswith("/posts/") and h[7:].isdigit()]
    assert ids == [in_body, in_title], ids


@pytest.mark.rules("search-literal")
def test_search_takes_percent_underscore_and_backslash_literally(visitors):
    alice = visitors.member("lit")
    tag = stamp()
    exact = alice.post(f"Rate 100% {tag}", "b")
    alice.post(f"Rate 1000 {tag}", "b")
    under = alice.post(f"a_b {tag}", "b")
    alice.post(f"axb {tag}", "b")
    slash = alice.post(f"C:\\dir {tag}", "b")

    def found(q):
        page = visitors.anonymous().page("/search", q=q)
        return [int(h[7:]) for h in page.links() if h.startswith("/posts/") and h[7:].isdigit()]

    assert found(f"100% {tag}") == [exact]
    assert found(f"a_b {tag}") == [under]
    assert found(f":\\dir {tag}") == [slash]


@pytest.mark.rules("search-bounds", "error-page")
def test_search_without_a_term_shows_nothing_and_a_long_term_is_400(visitors):
    alice = visitors.member("empty")
    alice.post(f"Present {stamp()}", "b")
    for params in ({}, {"q": ""}):
        page = visitors.anonymous().page("/search", **params)
        assert not [h for h in page.links() if h.startswith("/posts/") and h[7:].isdigit()]
    assert visitors.anonymous().client.get("/search", params={"q": "q" * 100}).status_code == 200
    for q in ("q" * 101, "a\x00b"):
        response = visitors.anonymous().client.get("/search", params={"q": q})
        assert response.status_code == 400, (q[:10], response.status_code)
        parse(response)
