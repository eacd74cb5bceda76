"""Starting a login, completing it, and what it stores."""

from __future__ import annotations

import base64
import hashlib
import time
from urllib.parse import parse_qs

import pytest
from portal import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Browser,
    assert_cookie_flags,
    assert_error,
    browser,
    login,
    oidc,
    query_of,
    session_count,
    set_cookies,
    sha256_hex,
    start,
    stored_user,
    token_requests,
)

__all__ = ["browser", "oidc"]  # fixtures


@pytest.mark.rules("health")
def test_health(api) -> None:
    answer = api.get("/health")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


@pytest.mark.rules("login-redirect", "redirect-uri", "login-state-nonce", "login-pkce", "login-cookie")
def test_login_redirects_to_the_authorization_endpoint_with_state_nonce_and_pkce(
    browser: Browser, oidc, base_url: str, client_factory
) -> None:
    answer, params = start(browser)
    location = answer.headers["location"]
    assert location.startswith(f"{oidc.issuer}/authorize?"), location
    assert params["response_type"] == "code"
    assert params["client_id"] == oidc.client_id
    assert params["redirect_uri"] == f"{base_url}/auth/callback"
    assert params["scope"].split() == ["openid", "email", "profile"], params["scope"]
    assert params["code_challenge_method"] == "S256"
    challenge = params["code_challenge"]
    assert len(challenge) == 43 and "=" not in challenge, challenge
    for name in ("state", "nonce"):
        assert len(params[name]) >= 22, (name, params[name])
    cookie = set_cookies(answer).get(LOGIN_COOKIE)
    assert cookie is not None and cookie.value, answer.headers.get_list("set-cookie")
    assert_cookie_flags(cookie)

    other, again = start(Browser(client_factory()))
    for name in ("state", "nonce", "code_challenge"):
        assert again[name] != params[name], f"two logins share their {name}"
    assert set_cookies(other)[LOGIN_COOKIE].value != cookie.value


@pytest.mark.rules(
    "callback-200", "session-cookie", "me-200", "token-request", "login-pkce", "redirect-uri"
)
def test_a_login_signs_the_user_in_with_a_session_cookie(
    browser: Browser, oidc, db, base_url: str, unique
) -> None:
    sub = unique("staff")
    answer = login(browser, oidc, sub, email=f"{sub}@example.test", name="Grace Hopper")
    assert answer.status_code == 200, answer.text[:300]
    user = {"sub": sub, "email": f"{sub}@example.test", "name": "Grace Hopper"}
    assert answer.json() == user
    cookie = set_cookies(answer).get(SESSION_COOKIE)
    assert cookie is not None and len(cookie.value) >= 22, answer.headers.get_list("set-cookie")
    assert_cookie_flags(cookie)
    me = browser.get("/v1/me", cookies={SESSION_COOKIE: cookie.value})
    assert me.status_code == 200 and me.json() == user

    authorize = next(r for r in oidc.requests() if r.path == "/authorize")
    sent = query_of("?" + authorize.query)
    [exchange] = token_requests(oidc)
    form = {k: v[0] for k, v in parse_qs(exchange.text).items()}
    assert exchange.outcome == 200
    assert form["redirect_uri"] == f"{base_url}/auth/callback"
    verifier = form["code_verifier"]
    assert 43 <= len(verifier) <= 128
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert digest.decode() == sent["code_challenge"]


@pytest.mark.rules("stored-users", "stored-sessions", "session-expiry")
def test_the_user_and_a_hashed_session_are_stored(browser: Browser, oidc, db, unique) -> None:
    sub = unique("staff")
    answer = login(browser, oidc, sub, email=f"{sub}@example.test", name="Ada")
    assert answer.status_code == 200, answer.text[:300]
    token = set_cookies(answer)[SESSION_COOKIE].value
    assert stored_user(db, sub) == (sub, f"{sub}@example.test", "Ada")
    rows = db.execute(
        "SELECT token_hash, extract(epoch FROM expires_at - now()) FROM sessions"
        " WHERE user_sub = %s",
        (sub,),
    ).fetchall()
    assert len(rows) == 1, rows
    assert rows[0][0] == sha256_hex(token), "token_hash is not the SHA-256 hex of the cookie"
    assert 8 * 3600 - 120 <= float(rows[0][1]) <= 8 * 3600 + 120, rows[0][1]
    found = db.scalar(
        "SELECT count(*) FROM sessions WHERE position(%s in sessions::text) > 0", (token,)
    )
    assert found == 0, "the session cookie's value is stored in sessions"


@pytest.mark.rules("upsert", "sessions-independent")
def test_a_later_login_updates_the_user_and_keeps_earlier_sessions(
    client_factory, oidc, db, unique
) -> None:
    sub = unique("staff")
    first, second = Browser(client_factory()), Browser(client_factory())
    assert login(first, oidc, sub, email="old@example.test", name="Old Name").status_code == 200
    answer = login(second, oidc, sub, email="new@example.test", name="New Name")
    assert answer.status_code == 200 and answer.json()["email"] == "new@example.test"
    assert stored_user(db, sub) == (sub, "new@example.test", "New Name")
    assert session_count(db, sub) == 2
    assert first.cookies[SESSION_COOKIE] != second.cookies[SESSION_COOKIE]
    for who in (first, second):
        me = who.get("/v1/me")
        assert me.status_code == 200 and me.json()["name"] == "New Name", me.text[:300]


@pytest.mark.rules("missing-claims-null")
def test_claims_the_token_lacks_are_stored_as_null(browser: Browser, oidc, db, unique) -> None:
    sub = unique("staff")
    answer = login(browser, oidc, sub, email=f"{sub}@example.test")
    assert answer.status_code == 200 and answer.json() == {
        "sub": sub, "email": f"{sub}@example.test", "name": None
    }  # fmt: skip
    assert stored_user(db, sub) == (sub, f"{sub}@example.test", None)
    later = login(Browser(browser.client), oidc, sub, name="Named Later")
    assert later.status_code == 200, later.text[:300]
    assert stored_user(db, sub) == (sub, None, "Named Later")


@pytest.mark.rules("session-fresh")
def test_a_login_never_adopts_a_session_cookie_the_browser_sent(
    browser: Browser, oidc, db, unique
) -> None:
    sub = unique("staff")
    planted = "planted-" + unique("s")
    browser.cookies[SESSION_COOKIE] = planted
    answer = login(browser, oidc, sub)
    assert answer.status_code == 200, answer.text[:300]
    given = set_cookies(answer).get(SESSION_COOKIE)
    assert given is not None and given.value != planted, "the login kept the planted session"
    assert_error(browser.get("/v1/me", cookies={SESSION_COOKIE: planted}), 401, "unauthenticated")
    assert browser.get("/v1/me").status_code == 200


@pytest.mark.rules("login-502")
def test_login_without_the_discovery_document_is_502_unless_it_was_kept(
    browser: Browser, oidc
) -> None:
    oidc.fault("discovery", drop=True)
    started = time.monotonic()
    answer = browser.get("/auth/login")
    assert time.monotonic() - started < 8
    if answer.status_code != 302:  # a cached discovery document is allowed
        assert_error(answer, 502, "provider_unavailable")
