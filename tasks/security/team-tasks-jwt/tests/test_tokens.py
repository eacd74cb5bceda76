"""Authentication: the JWTs the API accepts, and a 401 that changes nothing for every other
request under /v1."""

from __future__ import annotations

import uuid

import pytest
from team_api import (
    AUDIENCE,
    ISSUER,
    MARGIN,
    assert_error,
    b64url,
    bearer,
    claims_for,
    compact,
    mint,
    people,  # noqa: F401 - a fixture
    projects_named,
    sign,
    stored_project,
    stored_task,
)

# every operation under /v1; {project}, {task} and {sub} are filled with a member's own
OPERATIONS = [
    ("GET", "/v1/projects", None),
    ("POST", "/v1/projects", {"name": "anonymous project"}),
    ("GET", "/v1/projects/{project}", None),
    ("DELETE", "/v1/projects/{project}", None),
    ("POST", "/v1/projects/{project}/tasks", {"title": "anonymous task"}),
    ("GET", "/v1/tasks/{task}", None),
    ("PATCH", "/v1/tasks/{task}", {"title": "changed anonymously", "done": True}),
    ("GET", "/v1/admin/users/{sub}", None),
]


def accepted(people, token):
    """The token is served: its user's list of projects answers 200."""
    response = people.client(token).get("/v1/projects")
    assert response.status_code == 200, response.text[:300]


def assert_refused(people, db, token, scheme="Bearer"):
    """The token is refused with 401 on a read and on a write, and the write stores nothing."""
    client = people.client(token, scheme)
    assert_error(client.get("/v1/projects"), 401, "unauthorized")
    name = f"refused {uuid.uuid4().hex}"
    assert_error(client.post("/v1/projects", json={"name": name}), 401, "unauthorized")
    assert projects_named(db, name) == 0


@pytest.mark.rules("health")
def test_health_needs_no_token(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.rules("token-valid", "project-get", "task-get")
def test_a_token_that_keeps_every_rule_reaches_every_operation(people, db):
    alice, admin = people.member("alice"), people.admin("root")
    project = alice.project()
    listed = alice.client.get("/v1/projects")
    assert listed.status_code == 200 and project in listed.json()["items"], listed.text
    assert alice.client.get(f"/v1/projects/{project['id']}").json() == project
    task = alice.task(project["id"])
    assert alice.client.get(f"/v1/tasks/{task['id']}").json() == task
    patched = alice.client.patch(f"/v1/tasks/{task['id']}", json={"done": True})
    assert patched.status_code == 200 and patched.json()["done"] is True, patched.text
    summary = admin.client.get(f"/v1/admin/users/{alice.sub}")
    assert summary.status_code == 200, summary.text
    assert {k: summary.json()[k] for k in ("user_id", "projects", "tasks")} == {
        "user_id": alice.sub, "projects": 1, "tasks": 1,
    }
    deleted = alice.client.delete(f"/v1/projects/{project['id']}")
    assert deleted.status_code == 204, deleted.text
    assert stored_project(db, project["id"]) is None


@pytest.mark.rules("auth-required", "error-401", "auth-first", "refused-changes-nothing")
@pytest.mark.parametrize("method,path,body", OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_every_operation_without_a_valid_bearer_token_is_401_and_changes_nothing(
    people, db, method, path, body
):
    owner = people.member("owner")
    project = owner.project()
    task = owner.task(project["id"], "Guarded task")
    target = path.format(project=project["id"], task=task["id"], sub=owner.sub)
    token = owner.token
    wrong = [
        {},
        {"Authorization": f"Basic {token}"},
        {"Authorization": f"Token {token}"},
        {"Authorization": token},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": f"Bearer {token}x"},
        {"Authorization": f"Bearer {token[:-2]}"},
    ]
    for headers in wrong:
        client = people.factory(headers=headers)
        # an invalid body or a wrong content type does not change the answer: the token comes first
        for content in (body, {"name": 5, "title": None, "done": "x"}):
            response = client.request(method, target, json=content)
            assert_error(response, 401, "unauthorized")
    assert stored_project(db, project["id"]) == (owner.sub, project["name"])
    assert stored_task(db, task["id"]) == (project["id"], "Guarded task", False)
    assert projects_named(db, "anonymous project") == 0


@pytest.mark.rules("bearer-scheme")
def test_the_bearer_scheme_word_is_matched_in_any_case(people):
    alice = people.member("alice")
    project = alice.project()
    for scheme in ("bearer", "BEARER", "bEaReR"):
        response = people.client(alice.token, scheme).get(f"/v1/projects/{project['id']}")
        assert response.status_code == 200, (scheme, response.text[:300])
        assert response.json() == project


@pytest.mark.rules("alg-hs256", "refused-changes-nothing")
def test_alg_none_in_any_spelling_is_refused(people, db, app_secret):
    claims = claims_for(people.unique("nobody"))
    for alg in ("none", "None", "NONE", "nOnE"):
        header = {"alg": alg, "typ": "JWT"}
        unsigned = mint(claims, None, header=header)
        assert_refused(people, db, unsigned)
        # the same header with a signature the key would give: still not HS256
        signing_input = unsigned.rstrip(".")
        assert_refused(people, db, f"{signing_input}.{sign(signing_input, app_secret)}")


@pytest.mark.rules("alg-hs256")
def test_other_algorithms_are_refused_even_when_signed_with_the_key(people, db, app_secret):
    claims = claims_for(people.unique("alg"))
    assert_refused(people, db, mint(claims, app_secret, "HS384"))
    assert_refused(people, db, mint(claims, app_secret, "HS512"))
    for header in ({"alg": "hs256", "typ": "JWT"}, {"alg": "RS256", "typ": "JWT"},
                   {"alg": "HS256 ", "typ": "JWT"}, {"typ": "JWT"}, {"alg": None}):  # fmt: skip
        signing_input = f"{b64url(compact(header))}.{b64url(compact(claims))}"
        assert_refused(people, db, f"{signing_input}.{sign(signing_input, app_secret)}")
    # the baseline: the same claims under HS256 are served
    accepted(people, mint(claims, app_secret))


@pytest.mark.rules("signature")
def test_a_signature_that_is_not_the_keys_is_refused(people, db, app_secret):
    alice = people.member("alice")
    claims = claims_for(alice.sub)
    good = mint(claims, app_secret)
    accepted(people, good)
    head, body, signature = good.split(".")
    assert_refused(people, db, mint(claims, f"other-{app_secret}"))
    assert_refused(people, db, mint(claims, app_secret[:-1]))
    assert_refused(people, db, mint(claims, app_secret + "x"))
    assert_refused(people, db, f"{head}.{body}.")
    assert_refused(people, db, f"{head}.{body}")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert_refused(people, db, f"{head}.{body}.{flipped}")
    # another user's claims under this token's signature
    other = b64url(compact(claims_for(people.unique("mallory"), "admin")))
    assert_refused(people, db, f"{head}.{other}.{signature}")


@pytest.mark.rules("token-form")
def test_a_token_that_is_not_a_compact_jwt_is_refused(people, db, app_secret):
    claims = claims_for(people.unique("form"))
    good = mint(claims, app_secret)
    head, body, signature = good.split(".")

    def signed(header_part: str, payload_part: str) -> str:
        return f"{header_part}.{payload_part}.{sign(f'{header_part}.{payload_part}', app_secret)}"

    for token in (
        "abc",
        "a.b.c",
        "..",
        f"{good}.{signature}",
        signed(b64url(b"not json"), body),
        signed(head, b64url(b"not json")),
        signed(head, b64url(compact([claims]))),
        signed(b64url(compact(["HS256"])), body),
        signed(head, b64url(b"\xff\xfe")),
    ):
        assert_refused(people, db, token)
    # bytes that are not ASCII before the token
    client = people.factory(headers={"Authorization": ("Bearer \u00e9" + good).encode()})
    assert_error(client.get("/v1/projects"), 401, "unauthorized")


@pytest.mark.rules("exp")
def test_an_expired_token_is_refused(people, db, app_secret):
    sub = people.unique("late")
    accepted(people, mint(claims_for(sub), app_secret))
    for exp in (claims_for(sub)["iat"] - MARGIN, 1_000_000_000, 0):
        assert_refused(people, db, mint(claims_for(sub, iat=exp - 300, exp=exp), app_secret))


@pytest.mark.rules("exp")
def test_a_token_without_exp_is_refused(people, db, app_secret):
    sub = people.unique("forever")
    assert_refused(people, db, mint(claims_for(sub, exp=...), app_secret))
    assert_refused(people, db, mint(claims_for(sub, exp=None), app_secret))


@pytest.mark.rules("nbf")
def test_a_token_is_refused_before_its_nbf_and_accepted_after(people, db, app_secret):
    sub = people.unique("early")
    now = claims_for(sub)["iat"]
    assert_refused(people, db, mint(claims_for(sub, nbf=now + MARGIN), app_secret))
    assert_refused(
        people, db, mint(claims_for(sub, nbf=now + 2 * MARGIN, exp=now + 3 * MARGIN), app_secret)
    )
    accepted(people, mint(claims_for(sub, nbf=now - MARGIN), app_secret))


@pytest.mark.rules("aud")
def test_a_token_for_another_audience_is_refused(people, db, app_secret):
    sub = people.unique("aud")
    for aud in ("other-api", ..., None, "", ["other-api"], [], AUDIENCE.upper(), AUDIENCE + " ",
                {"aud": AUDIENCE}):  # fmt: skip
        assert_refused(people, db, mint(claims_for(sub, aud=aud), app_secret))
    accepted(people, mint(claims_for(sub, aud=["other-api", AUDIENCE]), app_secret))
    accepted(people, mint(claims_for(sub, aud=[AUDIENCE]), app_secret))


@pytest.mark.rules("iss")
def test_a_token_from_another_issuer_is_refused(people, db, app_secret):
    sub = people.unique("iss")
    for iss in ("https://evil.test", ..., None, "", ISSUER + "/", ISSUER.upper(),
                "http://id.team-tasks.test", [ISSUER]):  # fmt: skip
        assert_refused(people, db, mint(claims_for(sub, iss=iss), app_secret))


@pytest.mark.rules("sub", "project-owner")
def test_the_subject_is_a_string_of_1_to_64_characters(people, db, app_secret):
    for sub in (..., None, "", 42, ["alice"], "x" * 65, "a\u0000b"):
        assert_refused(people, db, mint(claims_for(sub), app_secret))
    longest = ("\u00e9" + uuid.uuid4().hex * 2)[:64]  # 64 characters, 65 bytes in UTF-8
    client = people.client(mint(claims_for(longest), app_secret))
    created = client.post("/v1/projects", json={"name": "longest sub"})
    assert created.status_code == 201, created.text
    assert created.json()["owner_id"] == longest
    assert stored_project(db, created.json()["id"]) == (longest, "longest sub")


@pytest.mark.rules("role")
def test_the_role_is_member_or_admin_exactly(people, db, app_secret):
    sub = people.unique("role")
    for role in (..., None, "", "Admin", "ADMIN", "Member", "root", "admin ", ["admin"], 1):
        assert_refused(people, db, mint(claims_for(sub, role=role), app_secret))
    accepted(people, mint(claims_for(sub, role="member"), app_secret))
    accepted(people, mint(claims_for(sub, role="admin"), app_secret))


@pytest.mark.rules("other-claims")
def test_other_claims_and_a_header_without_typ_are_accepted(people, app_secret):
    sub = people.unique("extra")
    claims = claims_for(sub, scope="projects:write", jti=uuid.uuid4().hex, name="Extra")
    accepted(people, mint(claims, app_secret))
    accepted(people, mint(claims_for(sub), app_secret, header={"alg": "HS256"}))
    accepted(people, mint(claims_for(sub, iat=...), app_secret))


@pytest.mark.rules("refused-changes-nothing", "auth-first")
def test_a_refused_token_changes_nothing_on_another_users_objects(people, db, app_secret):
    alice = people.member("alice")
    project = alice.project()
    task = alice.task(project["id"], "Keep me")
    # alice's own claims, expired: nothing of hers may change
    expired = mint(claims_for(alice.sub, exp=claims_for(alice.sub)["iat"] - MARGIN), app_secret)
    client = people.factory(headers=bearer(expired))
    assert_error(client.patch(f"/v1/tasks/{task['id']}", json={"done": True}), 401, "unauthorized")
    assert_error(client.delete(f"/v1/projects/{project['id']}"), 401, "unauthorized")
    assert_error(
        client.post(f"/v1/projects/{project['id']}/tasks", json={"title": "Sneaky"}),
        401,
        "unauthorized",
    )
    assert stored_task(db, task["id"]) == (project["id"], "Keep me", False)
    assert stored_project(db, project["id"]) == (alice.sub, project["name"])
    assert db.scalar("SELECT count(*) FROM tasks WHERE project_id = %s", (project["id"],)) == 1
