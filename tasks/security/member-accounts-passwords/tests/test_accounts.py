"""Registration: the username and password rules, uniqueness regardless of case, and how the
password is stored (argon2id, salted, at least OWASP's parameters, nowhere else)."""

from __future__ import annotations

import base64
import random
import string
import uuid

import pytest
from accounts_api import (
    accounts_named,
    assert_error,
    assert_no_password_material,
    kit,  # noqa: F401 - a fixture
    new_name,
    new_password,
    places_holding,
    stored_hash,
)
from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import VerificationError


def b64_length(part: str) -> int:
    """Bytes of an unpadded base64 part of a PHC string."""
    return len(base64.b64decode(part + "=" * (-len(part) % 4)))


@pytest.mark.rules("health")
def test_health(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.rules("register-201", "no-password-in-answers", "unknown-fields")
def test_registration_answers_the_account_without_password_material(kit, db):
    name, password = new_name(), new_password()
    response = kit.client().post(
        "/v1/accounts",
        json={"username": name, "password": password, "id": 999999, "password_hash": "x",
              "role": "admin"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["username"] == name and isinstance(body["id"], int) and body["id"] >= 1, body
    assert body["id"] != 999999
    assert stored_hash(db, name) not in (None, "x")
    assert_no_password_material(response, password, stored_hash(db, name))
    other = kit.register()
    assert other.id != body["id"]


@pytest.mark.rules("username-rules", "error-422", "refused-changes-nothing")
def test_the_username_rules_are_enforced(kit, db):
    client = kit.client()
    base = uuid.uuid4().hex * 2
    short = "".join(random.choice(string.ascii_letters + string.digits + "._-") for _ in range(3))
    for good in (short, "Z" + base[:63], f"A.b-c_{base[:6]}"):
        response = client.post("/v1/accounts", json={"username": good, "password": new_password()})
        assert response.status_code == 201, (good, response.text[:300])
    for bad in ("ab", "x" + base[:2] * 32, f"sp ace{base[:6]}", f"ümlaut{base[:6]}",
                f"semi;{base[:6]}", f"at@{base[:6]}", f"{base[:6]}\x00", "", f"tab\t{base[:6]}",
                f"{base[:6]}\n", 12345, None, ["abc"]):  # fmt: skip
        response = client.post("/v1/accounts", json={"username": bad, "password": new_password()})
        assert_error(response, 422, "validation_error")
        if isinstance(bad, str) and "\x00" not in bad:
            assert accounts_named(db, bad) == 0
    response = client.post("/v1/accounts", json={"password": new_password()})
    assert_error(response, 422, "validation_error")


@pytest.mark.rules("password-rules", "error-422", "refused-changes-nothing")
def test_the_password_length_is_counted_in_characters(kit, db):
    client = kit.client()
    for good in ("p" * 12, "P" * 128, "é" * 128, "🔑" * 12, " " * 12, "pass word\twith\nbreaks"):
        name = new_name()
        response = client.post("/v1/accounts", json={"username": name, "password": good})
        assert response.status_code == 201, (len(good), response.text[:300])
        assert kit.login(name, good).status_code == 200
    for bad in ("p" * 11, "é" * 11, "P" * 129, "🔑" * 129, "", "password\x00with-nul", 123456789012,
                None, ["p" * 12]):  # fmt: skip
        name = new_name()
        response = client.post("/v1/accounts", json={"username": name, "password": bad})
        assert_error(response, 422, "validation_error")
        assert accounts_named(db, name) == 0
    name = new_name()
    # a lone surrogate, as JSON may spell it
    raw = ('{"username": "%s", "password": "abcdefghijkl\\ud800"}' % name).encode()
    response = client.post(
        "/v1/accounts", content=raw, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 422, "validation_error")
    assert accounts_named(db, name) == 0
    response = client.post("/v1/accounts", json={"username": new_name()})
    assert_error(response, 422, "validation_error")


@pytest.mark.rules("username-unique", "error-409", "refused-changes-nothing")
def test_usernames_are_unique_regardless_of_letter_case(kit, db):
    member = kit.register(new_name("Case"))
    for other in (member.username, member.username.lower(), member.username.upper(),
                  member.username.swapcase()):  # fmt: skip
        response = kit.client().post(
            "/v1/accounts", json={"username": other, "password": new_password()}
        )
        assert_error(response, 409, "username_taken")
    assert accounts_named(db, member.username) == 1
    assert (
        db.scalar(
            "SELECT username FROM accounts WHERE lower(username) = lower(%s)", (member.username,)
        )
        == member.username
    )
    # the first password still logs in: the refused registrations changed nothing
    assert kit.login(member.username, member.password).status_code == 200


@pytest.mark.rules("fault-order")
def test_a_registration_that_breaks_a_rule_and_names_a_taken_username_is_422(kit, db):
    member = kit.register()
    response = kit.client().post(
        "/v1/accounts", json={"username": member.username.upper(), "password": "short"}
    )
    assert_error(response, 422, "validation_error")
    assert accounts_named(db, member.username) == 1


@pytest.mark.rules("argon2id-hash", "argon2id-params", "no-password-in-db")
def test_the_password_is_stored_as_an_argon2id_hash_that_verifies(kit, db):
    member = kit.register(password="Correct horse battery staple ✓")
    value = stored_hash(db, member.username)
    assert value is not None, "no accounts.password_hash for the account"
    assert member.password not in value
    assert value.startswith("$argon2id$v=19$"), value[:40]
    params = extract_parameters(value)
    assert params.type is Type.ID and params.version == 19, params
    assert params.memory_cost >= 19456, params
    assert params.time_cost >= 2, params
    assert params.parallelism >= 1, params
    salt, digest = value.split("$")[-2:]
    assert b64_length(salt) >= 16, value
    assert b64_length(digest) >= 16, value
    hasher = PasswordHasher()
    assert hasher.verify(value, member.password)
    for wrong in (member.password + " ", member.password.upper(), new_password()):
        with pytest.raises(VerificationError):
            hasher.verify(value, wrong)


@pytest.mark.rules("argon2id-salt")
def test_two_accounts_with_the_same_password_get_different_hashes(kit, db):
    password = new_password()
    first, second = kit.register(password=password), kit.register(password=password)
    one, two = stored_hash(db, first.username), stored_hash(db, second.username)
    assert one and two and one != two
    assert one.split("$")[-2] != two.split("$")[-2], "the same salt twice"
    assert PasswordHasher().verify(one, password) and PasswordHasher().verify(two, password)


@pytest.mark.rules("no-password-in-db")
def test_the_password_is_stored_nowhere_else_in_the_database_or_redis(kit, db, redis):
    member = kit.register()
    kit.tokens(member)
    # a failed login with a password close to the right one stores it nowhere either
    wrong = member.password + "-typo"
    assert kit.login(member.username, wrong).status_code == 401
    assert places_holding(db, redis, member.password) == []
    assert places_holding(db, redis, wrong) == []


@pytest.mark.rules("no-password-in-output")
def test_the_password_is_never_written_to_the_server_output(kit, server):
    member = kit.register()
    kit.tokens(member)
    wrong = f"Wrong-{uuid.uuid4().hex}"
    assert kit.login(member.username, wrong).status_code == 401
    output = server.output()
    assert member.password not in output
    assert wrong not in output


@pytest.mark.rules("password-exact")
def test_the_password_is_used_exactly_as_sent(kit):
    member = kit.register(password="  Ünïcödé Pässwörd  ")
    decomposed = "  Ünïcödé Pässwörd  ".replace("Ü", "U\u0308")
    # four near misses (a fifth would lock the name): trimmed, case-folded, NFD
    for near in (member.password.strip(), member.password.lower(), decomposed,
                 member.password + " "):  # fmt: skip
        assert_error(kit.login(member.username, near), 401, "invalid_credentials")
    assert kit.login(member.username, member.password).status_code == 200
