"""Login, /v1/me, expiry, rotation with reuse detection, logout, and tokens kept only hashed."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from accounts_api import (
    assert_error,
    assert_no_password_material,
    bearer,
    kit,  # noqa: F401 - a fixture
    new_name,
    new_password,
    places_holding,
    stored_hash,
)


def assert_pair(body, expires_in=900):
    assert set(body) >= {"access_token", "refresh_token", "token_type", "expires_in"}, body
    assert body["token_type"] == "Bearer", body
    assert body["expires_in"] == expires_in, body
    assert body["access_token"] and body["refresh_token"], body
    assert body["access_token"] != body["refresh_token"], body


def assert_live(kit, member, access, client=None):
    response = kit.me(access, client)
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    assert (body["id"], body["username"]) == (member.id, member.username), body


def assert_refused(kit, access):
    assert_error(kit.me(access), 401, "unauthorized")


@pytest.mark.rules("login-200", "login-case", "me", "no-password-in-answers")
def test_login_answers_a_pair_and_me_names_the_account(kit, db):
    member = kit.register(new_name("Mixed"))
    for spelling in (member.username, member.username.lower(), member.username.upper()):
        response = kit.login(spelling, member.password)
        assert response.status_code == 200, response.text[:300]
        pair = response.json()
        assert_pair(pair)
        assert member.password not in response.text
        me = kit.me(pair["access_token"])
        assert me.status_code == 200, me.text
        body = me.json()
        assert (body["id"], body["username"]) == (member.id, member.username), body
        assert_no_password_material(me, member.password, stored_hash(db, member.username))


@pytest.mark.rules("login-fail-same", "error-401-login")
def test_an_unknown_username_and_a_wrong_password_get_the_same_401(kit):
    member = kit.register()
    wrong = kit.login(member.username, member.password + "x")
    unknown = kit.login(new_name(), member.password)
    unknown_upper = kit.login(new_name().upper(), "x")
    assert_error(wrong, 401, "invalid_credentials")
    assert_error(unknown, 401, "invalid_credentials")
    assert wrong.json() == unknown.json() == unknown_upper.json()
    for response in (wrong, unknown):
        assert "access_token" not in response.text


@pytest.mark.rules("login-strings", "login-no-other-rule", "not-counted")
def test_login_fields_must_be_strings_and_nothing_else_is_checked(kit):
    member = kit.register()
    client = kit.client()
    bodies = [
        {"username": member.username, "password": 123456789012},
        {"username": member.username, "password": None},
        {"username": member.username},
        {"password": member.password},
        {"username": [member.username], "password": member.password},
        {"username": member.username, "password": {"$gt": ""}},
        {"username": 7, "password": member.password},
    ]
    for body in bodies:
        assert_error(client.post("/v1/sessions", json=body), 422, "validation_error")
    # values no account could have are only wrong: 401, like any other
    for name, password in (("ab", "x"), ("with space", ""), ("ü" * 70, "p" * 200)):
        assert_error(kit.login(name, password, client), 401, "invalid_credentials")
    # seven 422s are not failed logins: the account is not locked
    assert kit.login(member.username, member.password, client).status_code == 200


@pytest.mark.rules("bearer-scheme")
def test_the_bearer_scheme_word_is_matched_in_any_case(kit):
    member = kit.register()
    pair = kit.tokens(member)
    for scheme in ("Bearer", "bearer", "BEARER", "bEaReR"):
        response = kit.client().get("/v1/me", headers=bearer(pair["access_token"], scheme))
        assert response.status_code == 200, (scheme, response.text)
    response = kit.client().post(
        "/v1/sessions/logout", headers=bearer(pair["access_token"], "bearer")
    )
    assert response.status_code == 204, response.text
    assert_refused(kit, pair["access_token"])


@pytest.mark.rules("unauthorized", "token-kinds", "refused-changes-nothing")
def test_requests_without_a_valid_access_token_are_401(kit):
    member = kit.register()
    pair = kit.tokens(member)
    access, refresh = pair["access_token"], pair["refresh_token"]
    wrong = [
        {},
        {"Authorization": f"Basic {access}"},
        {"Authorization": f"Token {access}"},
        {"Authorization": access},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Bearer {access}x"},
        {"Authorization": f"Bearer {access[:-2]}"},
        {"Authorization": f"Bearer {refresh}"},  # a refresh token is not an access token
    ]
    client = kit.client()
    for headers in wrong:
        assert_error(client.get("/v1/me", headers=headers), 401, "unauthorized")
        assert_error(client.post("/v1/sessions/logout", headers=headers), 401, "unauthorized")
    # an access token is not a refresh token, and an unknown one is nothing
    for token in (access, refresh + "x", "", "not-a-token"):
        assert_error(kit.refresh(token), 401, "unauthorized")
    assert_error(client.post("/v1/sessions/refresh", json={}), 422, "validation_error")
    assert_error(client.post("/v1/sessions/refresh", json={"refresh_token": 5}), 422,
                 "validation_error")  # fmt: skip
    # none of that ended the session: both tokens still work
    assert_live(kit, member, access)
    again = kit.refresh(refresh)
    assert again.status_code == 200, again.text
    assert_pair(again.json())


@pytest.mark.rules("access-expiry", "expires-in", "refresh-outlives-access", "shared-state")
def test_an_access_token_expires_after_access_token_seconds(kit, server):
    member = kit.register()
    short = server.start_instance(env={"ACCESS_TOKEN_SECONDS": "2"})
    there = kit.client(base_url=short.base_url)
    pair = kit.tokens(member, there)
    assert_pair(pair, expires_in=2)
    assert_live(kit, member, pair["access_token"], there)
    assert_live(kit, member, pair["access_token"])  # the main instance accepts it too
    time.sleep(3.5)
    assert_error(kit.me(pair["access_token"], there), 401, "unauthorized")
    assert_error(kit.me(pair["access_token"]), 401, "unauthorized")
    # the refresh token outlives it: a new pair, whose access token works
    renewed = kit.refresh(pair["refresh_token"], there)
    assert renewed.status_code == 200, renewed.text
    assert_pair(renewed.json(), expires_in=2)
    assert_live(kit, member, renewed.json()["access_token"], there)
    # the main instance keeps its default lifetime
    assert_pair(kit.tokens(member))


@pytest.mark.rules("refresh-rotates", "access-after-refresh")
def test_refresh_rotates_and_the_used_token_is_refused(kit):
    member = kit.register()
    first = kit.tokens(member)
    response = kit.refresh(first["refresh_token"])
    assert response.status_code == 200, response.text
    second = response.json()
    assert_pair(second)
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert_live(kit, member, second["access_token"])
    # the old access token stays valid until it expires
    assert_live(kit, member, first["access_token"])
    assert_error(kit.refresh(first["refresh_token"]), 401, "unauthorized")


@pytest.mark.rules("reuse-detection", "sessions-independent")
def test_a_reused_refresh_token_ends_the_whole_session(kit):
    member = kit.register()
    other = kit.tokens(member)  # another session of the same account
    first = kit.tokens(member)
    second = kit.refresh(first["refresh_token"]).json()
    third = kit.refresh(second["refresh_token"]).json()
    assert_live(kit, member, third["access_token"])
    # the first refresh token comes back: someone else holds it
    assert_error(kit.refresh(first["refresh_token"]), 401, "unauthorized")
    for access in (first["access_token"], second["access_token"], third["access_token"]):
        assert_refused(kit, access)
    assert_error(kit.refresh(third["refresh_token"]), 401, "unauthorized")
    # the other session goes on
    assert_live(kit, member, other["access_token"])
    assert kit.refresh(other["refresh_token"]).status_code == 200


@pytest.mark.rules("refresh-once")
def test_one_refresh_token_sent_many_times_at_once_gives_at_most_one_pair(kit):
    member = kit.register()
    pairs = [kit.tokens(member) for _ in range(3)]
    for pair in pairs:
        clients = [kit.client() for _ in range(8)]
        with ThreadPoolExecutor(len(clients)) as pool:
            answers = list(pool.map(lambda c: kit.refresh(pair["refresh_token"], c), clients))
        statuses = [a.status_code for a in answers]
        assert statuses.count(200) <= 1, statuses
        assert set(statuses) <= {200, 401}, statuses


@pytest.mark.rules("logout", "sessions-independent", "logout-body")
def test_logout_ends_the_session_and_only_that_one(kit):
    member = kit.register()
    kept, ended = kit.tokens(member), kit.tokens(member)
    renewed = kit.refresh(ended["refresh_token"]).json()
    client = kit.client()
    response = client.post(
        "/v1/sessions/logout", headers=bearer(renewed["access_token"]),
        content=b"this body is not json",
    )  # fmt: skip
    assert response.status_code == 204, response.text
    assert response.content == b""
    for access in (renewed["access_token"], ended["access_token"]):
        assert_refused(kit, access)
    # its refresh token, not yet used, is refused too
    assert_error(kit.refresh(renewed["refresh_token"]), 401, "unauthorized")
    again = client.post("/v1/sessions/logout", headers=bearer(renewed["access_token"]))
    assert_error(again, 401, "unauthorized")
    assert_live(kit, member, kept["access_token"])
    assert kit.refresh(kept["refresh_token"]).status_code == 200


@pytest.mark.rules("tokens-hashed")
def test_tokens_are_stored_only_hashed(kit, db, redis):
    member = kit.register()
    first = kit.tokens(member)
    second = kit.refresh(first["refresh_token"]).json()
    for token in (first["access_token"], first["refresh_token"], second["access_token"],
                  second["refresh_token"]):  # fmt: skip
        assert places_holding(db, redis, token) == [], "a token's text is stored"


@pytest.mark.rules("register-201")
def test_a_registered_account_logs_in_right_away_with_its_password_only(kit):
    member = kit.register(password=new_password())
    assert kit.login(member.username, member.password).status_code == 200
    assert_error(kit.login(member.username, new_password()), 401, "invalid_credentials")
