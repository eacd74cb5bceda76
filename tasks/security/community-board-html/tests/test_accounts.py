"""Accounts and sessions: sign-up, login, the session cookie, next, logout, stored hashes."""

from __future__ import annotations

import pytest
from board import (
    PASSWORD,
    location,
    parse,
    set_cookie,
    shows,
    users_named,
    visitors,  # noqa: F401 - a fixture
)

# a `next` that is not a local path: each login goes to / instead
FOREIGN_NEXTS = [
    "https://evil.example/",
    "http://evil.example",
    "//evil.example/x",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/ /evil.example",
    "/ok\\..\\x",
    "javascript:alert(1)",
    "evil.example",
    "",
    "/caf\u00e9",
]


@pytest.mark.rules("health")
def test_health_answers_ok(api):
    response = api.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.rules("signup", "session-cookie", "pages-show-user")
def test_signup_logs_in_with_an_httponly_samesite_lax_cookie_and_redirects_home(visitors, db):
    visitor = visitors.anonymous()
    name = visitors.unique("Ann")
    response = visitor.client.post("/signup", data={"username": name, "password": PASSWORD})
    assert location(response) == "/"
    cookie = set_cookie(response)
    assert cookie is not None, response.headers.get_list("set-cookie")
    value, attributes = cookie
    assert len(value) >= 16, value
    assert "httponly" in attributes and "samesite=lax" in attributes, attributes
    assert "path=/" in attributes, attributes
    assert users_named(db, name) == 1
    page = visitor.page("/")
    assert shows(page, name)
    assert page.find("form", action="/logout"), "no logout form for a logged-in visitor"


@pytest.mark.rules("password-hash", "db-tables")
def test_passwords_are_stored_as_argon2_or_bcrypt_hashes(visitors, db):
    visitor = visitors.member("hash")
    stored = db.scalar("SELECT password_hash FROM users WHERE username = %s", (visitor.username,))
    assert stored and PASSWORD not in stored, stored
    assert stored.startswith(("$argon2id$", "$argon2i$", "$argon2d$", "$2b$", "$2a$", "$2y$"))
    columns = db.columns("users")
    assert columns.get("id") in {"integer", "bigint"}, columns
    assert columns.get("username") in {"text", "character varying"}, columns
    assert columns.get("password_hash") in {"text", "character varying"}, columns
    posts = db.columns("posts")
    assert posts.get("id") in {"integer", "bigint"}, posts
    for name in ("title", "body", "link"):
        assert posts.get(name) in {"text", "character varying"}, posts
    assert ("posts", "users") in db.foreign_keys()


@pytest.mark.rules("username-taken", "username-exact", "error-page")
def test_a_taken_name_is_409_and_names_are_compared_exactly(visitors, db):
    first = visitors.member("Taken")
    other = visitors.anonymous()
    response = other.client.post(
        "/signup", data={"username": first.username, "password": "another password"}
    )
    assert response.status_code == 409, response.text[:300]
    parse(response)
    assert set_cookie(response) is None or not set_cookie(response)[0]
    assert users_named(db, first.username) == 1
    # another letter case is another name
    visitors.anonymous().signup(first.username.lower())
    visitors.anonymous().signup(first.username + " ")
    assert users_named(db, first.username.lower()) == 1


@pytest.mark.rules("signup-fields", "error-page", "refused-changes-nothing")
def test_signup_fields_out_of_bounds_are_400_and_store_nothing(visitors, db):
    visitor = visitors.anonymous()
    base = visitors.unique("b")
    longest = ("\u00e9" * 40)[: 40 - len(base)] + base  # 40 characters
    cases = [
        {"username": "", "password": PASSWORD},
        {"username": "x" * 41, "password": PASSWORD},
        {"username": base + "\x00", "password": PASSWORD},
        {"username": base, "password": "seven77"},
        {"username": base, "password": "p" * 129},
        {"username": base},
        {"password": PASSWORD},
    ]
    for data in cases:
        response = visitor.client.post("/signup", data=data)
        assert response.status_code == 400, (data, response.status_code)
        parse(response)
    assert users_named(db, base) == 0 and users_named(db, "x" * 41) == 0
    assert visitor.cookie is None
    visitors.anonymous().signup(longest, "e" * 8)
    visitors.anonymous().signup(visitors.unique("<&>\"'"), "p" * 128)
    assert users_named(db, longest) == 1


@pytest.mark.rules("login", "session-cookie", "session-new")
def test_a_login_starts_a_new_session_each_time_and_never_adopts_a_sent_one(visitors):
    member = visitors.member("log")
    signup_value = member.cookie
    fresh = visitors.anonymous()
    fresh.username, fresh.password = member.username, member.password
    fresh.plant("chosen-by-an-attacker-0123456789")
    response = fresh.login()
    assert location(response) == "/"
    cookie = set_cookie(response)
    assert cookie is not None
    value, attributes = cookie
    assert "httponly" in attributes and "samesite=lax" in attributes, attributes
    assert value not in ("chosen-by-an-attacker-0123456789", signup_value), value
    assert shows(fresh.page("/"), member.username)
    again = visitors.anonymous()
    again.username, again.password = member.username, member.password
    again_value = set_cookie(again.login())
    assert again_value is not None and again_value[0] not in (value, signup_value)
    # the value the attacker chose logs nobody in
    planted = visitors.anonymous()
    planted.plant("chosen-by-an-attacker-0123456789")
    assert planted.client.get("/posts/new").status_code == 303


@pytest.mark.rules("login-wrong", "error-page")
def test_a_wrong_password_or_unknown_name_is_401_and_starts_no_session(visitors):
    member = visitors.member("wrong")
    for name, password in (
        (member.username, PASSWORD + "x"),
        (member.username.upper(), PASSWORD),
        (visitors.unique("nobody"), PASSWORD),
    ):
        stranger = visitors.anonymous()
        response = stranger.client.post("/login", data={"username": name, "password": password})
        assert response.status_code == 401, (name, response.status_code)
        parse(response)
        assert not stranger.cookie
        assert stranger.client.get("/posts/new").status_code == 303


@pytest.mark.rules("login-next")
def test_a_login_goes_on_to_a_local_next_exactly(visitors):
    member = visitors.member("next")
    for target in ("/posts/new", "/search?q=a%26b&x=1", "/", "/posts/1#top", "/a/b/../c", "/!~"):
        response = member.login(target)
        assert location(response) == target, target


@pytest.mark.rules("login-next", "open-redirect")
def test_a_login_never_redirects_to_another_site(visitors):
    member = visitors.member("redirect")
    for target in FOREIGN_NEXTS:
        response = member.login(target)
        assert location(response) == "/", (target, response.headers.get("location"))
    response = member.client.post(
        "/signup",
        params={"next": "https://evil.example/"},
        data={"username": visitors.unique("sn"), "password": PASSWORD},
    )
    assert location(response) == "/"


@pytest.mark.rules("login-page-next")
def test_the_login_page_carries_next_into_its_form(visitors):
    from board import form_action_next

    visitor = visitors.anonymous()
    page = visitor.page("/login", next='/search?q=x&y="z"')
    assert form_action_next(page) == '/search?q=x&y="z"'
    assert visitor.page("/signup").find("input", name="password")
    assert visitor.page("/login").find("input", name="username")


@pytest.mark.rules("logout", "csrf-logout")
def test_logout_ends_the_session_and_its_cookie_is_refused_when_replayed(visitors, client_factory):
    member, other = visitors.member("out"), visitors.member("stay")
    second = visitors.anonymous()
    second.username, second.password = member.username, member.password
    assert location(second.login()) == "/"
    saved = member.cookie
    token = member.token()
    response = member.client.post("/logout", data={"csrf_token": token})
    assert location(response) == "/"
    assert member.client.get("/posts/new").status_code == 303
    # the user's other session and other users' sessions stay
    assert second.client.get("/posts/new").status_code == 200
    assert other.client.get("/posts/new").status_code == 200
    replay = client_factory()
    replay.cookies.set("session", saved)
    assert replay.get("/posts/new").status_code == 303
    response = replay.post("/posts", data={"title": "after", "body": "b", "csrf_token": token})
    assert response.status_code == 403
    # logging in again works
    assert location(member.login()) == "/"
    assert member.client.get("/posts/new").status_code == 200


@pytest.mark.rules("sessions-stored")
def test_a_session_outlives_a_restart_and_works_on_a_second_instance(
    visitors, server, client_factory
):
    member = visitors.member("keep")
    cookie = member.cookie
    token = member.token()
    instance = server.start_instance()
    other = client_factory(base_url=instance.base_url)
    other.cookies.set("session", cookie)
    assert other.get("/posts/new").status_code == 200
    server.restart()
    assert member.client.get("/posts/new").status_code == 200
    assert member.send_post(token=token, title="After a restart", body="b").status_code == 303
