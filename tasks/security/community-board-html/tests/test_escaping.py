"""Escaping: what visitors type shows as text everywhere, never as markup (read with the
stdlib's HTML parser: no injected element or attribute)."""

from __future__ import annotations

import pytest
from board import (
    PAYLOADS,
    assert_inert,
    shows,
    stamp,
    visitors,  # noqa: F401 - a fixture
)


@pytest.mark.rules("escape-content", "escape-attributes")
def test_titles_and_bodies_show_as_text_on_every_page(visitors, unique):
    alice = visitors.member("esc")
    tag = unique("tag")
    made = []
    for n, payload in enumerate(PAYLOADS):
        title, body = f"{payload} t{n} {tag}", f"body {payload} {n}"
        made.append((alice.post(title, body), title, body))
    home = visitors.anonymous().page("/")
    found = visitors.anonymous().page("/search", q=tag)
    for page in (home, found):
        assert_inert(page)
        for post_id, title, _ in made:
            anchor = page.find("a", href=f"/posts/{post_id}")
            assert anchor, post_id
            assert anchor[0].attrs.get("title") == title, anchor[0].attrs
            assert shows(page, title), title
    for post_id, title, body in made:
        page = visitors.anonymous().page(f"/posts/{post_id}")
        assert_inert(page)
        assert shows(page, title) and shows(page, body), title


@pytest.mark.rules("escape-content")
def test_user_names_show_as_text(visitors):
    for n, payload in enumerate(PAYLOADS[:5]):
        member = visitors.anonymous()
        name = f"{payload[:30]}{n}{stamp()[-6:]}"
        member.signup(name)
        post_id = member.post(f"By a strange name {stamp()}", "b")
        for page in (
            member.page("/"),
            member.page("/posts/new"),
            visitors.anonymous().page(f"/posts/{post_id}"),
        ):
            assert_inert(page)
            assert shows(page, name), name


@pytest.mark.rules("escape-links", "escape-attributes")
def test_a_link_with_quotes_and_brackets_stays_inside_its_href(visitors):
    alice = visitors.member("href")
    links = [
        'https://example.com/"><svg/onload=bbxss()>',
        "https://example.com/'/onmouseover='bbxss()'/x='",
        'https://example.com/?a="b"&c=<d>&amp;e',
    ]
    for link in links:
        post_id = alice.post(f"Link {stamp()}", "b", link)
        for page in (
            visitors.anonymous().page(f"/posts/{post_id}"),
            visitors.anonymous().page("/"),
        ):
            assert_inert(page)
            assert link in page.links(), (link, page.links()[:10])


@pytest.mark.rules("escape-reflected", "search")
def test_the_search_term_shows_as_text_and_in_the_fields_value(visitors):
    for payload in PAYLOADS:
        page = visitors.anonymous().page("/search", q=payload)
        assert_inert(page)
        assert shows(page, f"Results for {payload}"), payload
        assert page.input_value("q") == payload


@pytest.mark.rules("escape-reflected", "login-page-next")
def test_next_is_percent_encoded_into_the_login_forms_action(visitors):
    from board import form_action_next

    for payload in PAYLOADS:
        page = visitors.anonymous().page("/login", next=f"/x?{payload}")
        assert_inert(page)
        assert form_action_next(page) == f"/x?{payload}"
