"""Using a session (GET /v1/me) and ending it (POST /auth/logout)."""

from __future__ import annotations

import pytest
from portal import (
    SESSION_COOKIE,
    Browser,
    assert_error,
    browser,
    login,
    oidc,
    session_count,
    set_cookies,
    sha256_hex,
)

__all__ = ["browser", "oidc"]  # fixtures


@pytest.mark.rules("me-401")
def test_me_without_a_live_session_is_401(api, browser: Browser) -> None:
    assert_error(api.get("/v1/me"), 401, "unauthenticated")
    made_up = {SESSION_COOKIE: "no-such-session-0123456789abcdef"}
    assert_error(browser.get("/v1/me", cookies=made_up), 401, "unauthenticated")
    assert_error(browser.get("/v1/me", cookies={SESSION_COOKIE: ""}), 401, "unauthenticated")


@pytest.mark.rules("me-401", "session-expiry")
def test_an_expired_session_is_refused(browser: Browser, oidc, db, unique) -> None:
    sub = unique("staff")
    assert login(browser, oidc, sub).status_code == 200
    token = browser.cookies[SESSION_COOKIE]
    assert browser.get("/v1/me").status_code == 200
    db.execute(
        "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = %s",
        (sha256_hex(token),),
    )
    assert_error(browser.get("/v1/me"), 401, "unauthenticated")


@pytest.mark.rules("logout", "sessions-independent")
def test_logout_ends_its_session_only(client_factory, oidc, db, unique) -> None:
    sub = unique("staff")
    first, second = Browser(client_factory()), Browser(client_factory())
    assert login(first, oidc, sub).status_code == 200
    assert login(second, oidc, sub).status_code == 200
    token = first.cookies[SESSION_COOKIE]
    answer = first.post("/auth/logout")
    assert answer.status_code == 204, answer.text[:300]
    cleared = set_cookies(answer).get(SESSION_COOKIE)
    assert cleared is not None and cleared.cleared, answer.headers.get_list("set-cookie")
    assert_error(first.get("/v1/me", cookies={SESSION_COOKIE: token}), 401, "unauthenticated")
    assert db.scalar("SELECT count(*) FROM sessions WHERE token_hash = %s", (sha256_hex(token),)) == 0
    assert session_count(db, sub) == 1
    assert second.get("/v1/me").status_code == 200


@pytest.mark.rules("logout")
def test_logout_without_a_live_session_is_204(api, browser: Browser) -> None:
    assert api.post("/auth/logout").status_code == 204
    answer = browser.post("/auth/logout", cookies={SESSION_COOKIE: "no-such-session-0123"})
    assert answer.status_code == 204
