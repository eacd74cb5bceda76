"""Security headers on every page, redirect and error page."""

from __future__ import annotations

import pytest
from board import (
    location,
    visitors,  # noqa: F401 - a fixture
)


def assert_defended(response):
    where = (response.request.method, response.request.url.path, response.status_code)
    csp = response.headers.get("content-security-policy", "")
    directives = {
        d.split()[0].lower(): [s.lower() for s in d.split()[1:]]
        for d in csp.split(";") if d.strip()
    }  # fmt: skip
    assert directives.get("default-src") == ["'self'"], (where, csp)
    assert directives.get("frame-ancestors") == ["'none'"], (where, csp)
    lowered = csp.lower()
    assert "'unsafe-inline'" not in lowered and "'unsafe-eval'" not in lowered, (where, csp)
    assert not any("*" in s for sources in directives.values() for s in sources), (where, csp)
    assert response.headers.get("x-content-type-options", "").lower() == "nosniff", where
    assert response.headers.get("x-frame-options", "").upper() == "DENY", where
    policy = response.headers.get("referrer-policy", "").lower()
    assert policy in ("no-referrer", "same-origin"), (where, policy)


@pytest.mark.rules("headers")
def test_every_page_carries_the_security_headers(visitors):
    member = visitors.member("hdr")
    post_id = member.post("Headers", "b")
    for path in ("/", "/login", "/signup", "/posts/new", f"/posts/{post_id}", "/search?q=x"):
        for visitor in (member, visitors.anonymous()):
            response = visitor.client.get(path)
            assert response.status_code in (200, 303), (path, response.status_code)
            assert_defended(response)


@pytest.mark.rules("headers")
def test_redirects_and_error_pages_carry_the_security_headers(visitors, api):
    member = visitors.member("hdr")
    anonymous = visitors.anonymous()
    responses = [
        api.get("/posts/999999999999"),
        anonymous.client.get("/search", params={"q": "x" * 101}),
        anonymous.client.post("/login", data={"username": "nobody", "password": "wrong pass"}),
        anonymous.client.post("/posts", data={"title": "t", "body": "b"}),
        member.send_post(title="", body="b"),
        member.client.post(
            "/login", data={"username": member.username, "password": member.password}
        ),
    ]
    for response in responses:
        assert_defended(response)
    assert location(responses[-1]) == "/"
