"""CSRF: state-changing form posts need the session's own token; anything else is 403 and
changes nothing."""

from __future__ import annotations

import pytest
from board import (
    location,
    parse,
    posts_titled,
    stamp,
    visitors,  # noqa: F401 - a fixture
)


@pytest.mark.rules("csrf-post", "refused-changes-nothing", "error-page")
def test_a_post_without_its_token_or_with_a_wrong_one_is_403_and_stores_nothing(visitors, db):
    alice = visitors.member("csrf")
    real = alice.token()
    for token in (None, "", "wrong-token", real[:-1], real + "x", real.upper() + "!"):
        title = f"Forged {stamp()}"
        response = alice.send_post(token=token, title=title, body="b")
        assert response.status_code == 403, (token, response.status_code)
        parse(response)
        assert posts_titled(db, title) == 0
    # a foreign page's form posts with the cookie and no token: refused too
    title = f"Cross-site {stamp()}"
    response = alice.client.post(
        "/posts", data={"title": title, "body": "b"},
        headers={"Origin": "https://evil.example", "Referer": "https://evil.example/x"},
    )  # fmt: skip
    assert response.status_code == 403 and posts_titled(db, title) == 0
    assert alice.send_post(token=real, title=f"Real {stamp()}", body="b").status_code == 303


@pytest.mark.rules("csrf-bound", "refused-changes-nothing")
def test_a_token_of_another_session_is_403(visitors, db):
    alice, mallory = visitors.member("victim"), visitors.member("mallory")
    foreign = mallory.token()
    title = f"Other session {stamp()}"
    response = alice.send_post(token=foreign, title=title, body="b")
    assert response.status_code == 403 and posts_titled(db, title) == 0
    # an earlier session of the same user
    earlier = alice.token()
    assert location(alice.login()) == "/"
    title = f"Earlier session {stamp()}"
    response = alice.send_post(token=earlier, title=title, body="b")
    if alice.token() != earlier:
        assert response.status_code == 403 and posts_titled(db, title) == 0
    else:
        pytest.fail("a new login kept the earlier session's CSRF token")
    # a second browser of the same user has its own token
    second = visitors.anonymous()
    second.username, second.password = alice.username, alice.password
    second.login()
    title = f"Second browser {stamp()}"
    response = second.send_post(token=alice.token(), title=title, body="b")
    assert response.status_code == 403 and posts_titled(db, title) == 0


@pytest.mark.rules("csrf-session", "refused-changes-nothing")
def test_a_post_without_a_session_is_403(visitors, db):
    alice = visitors.member("nosession")
    token = alice.token()
    stranger = visitors.anonymous()
    for cookie in (None, "not-a-session-value-0123456789"):
        if cookie:
            stranger.plant(cookie)
        title = f"No session {stamp()}"
        response = stranger.client.post(
            "/posts", data={"title": title, "body": "b", "csrf_token": token}
        )
        assert response.status_code == 403, response.status_code
        assert posts_titled(db, title) == 0
        response = stranger.client.post("/logout", data={"csrf_token": token})
        assert response.status_code == 403


@pytest.mark.rules("csrf-logout", "refused-changes-nothing")
def test_a_logout_without_the_token_is_403_and_the_session_stays(visitors):
    alice, mallory = visitors.member("stay"), visitors.member("mallory")
    for data in ({"x": "1"}, {"csrf_token": ""}, {"csrf_token": "wrong"},
                 {"csrf_token": mallory.token()}):  # fmt: skip
        response = alice.client.post("/logout", data=data)
        assert response.status_code == 403, (data, response.status_code)
        parse(response)
        assert alice.client.get("/posts/new").status_code == 200
    assert mallory.client.get("/posts/new").status_code == 200
