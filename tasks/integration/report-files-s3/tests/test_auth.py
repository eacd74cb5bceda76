"""Authentication: the JWTs the API accepts, and a 401 that changes nothing."""

from __future__ import annotations

import time

import pytest
from files_api import (
    MARGIN,
    assert_error,
    claims_for,
    mint,
    people,  # noqa: F401 - a fixture
    rows_of,
    user_objects,
)


@pytest.mark.rules("health")
def test_health_needs_no_token(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.rules("bearer-case", "token-rules")
def test_valid_tokens_are_accepted_in_any_scheme_case(people, app_secret, unique):
    user = people.make()
    now = int(time.time())
    for authorization in (
        f"Bearer {user.token}",
        f"bearer {user.token}",
        f"BEARER {user.token}",
        # aud as an array that holds it; a past nbf
        "Bearer " + mint(claims_for(user.sub, aud=["other", "report-files"], nbf=now - MARGIN),
                         app_secret),  # fmt: skip
    ):
        response = people.client(authorization).get("/v1/files")
        assert response.status_code == 200, (authorization[:20], response.text[:200])
    # a sub of 64 characters, the longest
    long_sub = ("s" * 32 + unique("u").replace("-", "_"))[:64]
    response = people.client("Bearer " + mint(claims_for(long_sub), app_secret)).get("/v1/files")
    assert response.status_code == 200, response.text[:200]


@pytest.mark.rules("auth-401", "token-rules", "refused-nothing")
def test_bad_tokens_are_refused_and_store_nothing(people, app_secret, db, peers):
    user = people.make()
    now = int(time.time())
    sub = user.sub
    without_sub = {k: v for k, v in claims_for(sub).items() if k != "sub"}
    bad = {
        "no header": None,
        "another scheme": f"Token {user.token}",
        "no token": "Bearer",
        "two spaces": f"Bearer  {user.token}",
        "another key": "Bearer " + mint(claims_for(sub), app_secret + "x"),
        "alg none": "Bearer " + mint(claims_for(sub), None, header={"alg": "none"}),
        "alg None": "Bearer " + mint(claims_for(sub), None, header={"alg": "None"}),
        "HS512": "Bearer " + mint(claims_for(sub), app_secret, alg="HS512"),
        "expired": "Bearer " + mint(claims_for(sub, exp=now - MARGIN), app_secret),
        "no exp": "Bearer " + mint(claims_for(sub, exp=...), app_secret),
        "nbf ahead": "Bearer " + mint(claims_for(sub, nbf=now + MARGIN), app_secret),
        "wrong aud": "Bearer " + mint(claims_for(sub, aud="report-filez"), app_secret),
        "no aud": "Bearer " + mint(claims_for(sub, aud=...), app_secret),
        "no sub": "Bearer " + mint(without_sub, app_secret),
        "sub with slash": "Bearer " + mint(claims_for(f"{sub}/x"), app_secret),
        "sub too long": "Bearer " + mint(claims_for("s" * 65), app_secret),
        "empty sub": "Bearer " + mint(claims_for(""), app_secret),
        "sub not a string": "Bearer " + mint(claims_for(12345), app_secret),
    }
    for why, authorization in bad.items():
        client = people.client(authorization)
        assert_error(client.get("/v1/files"), 401, "unauthorized")
        response = client.post(
            "/v1/files", content=b"a,b\n1,2\n",
            headers={"Content-Type": "text/csv", "X-File-Name": "refused.csv"},
        )  # fmt: skip
        assert response.status_code == 401, (why, response.status_code, response.text[:200])
        assert_error(response, 401, "unauthorized")
    assert rows_of(db, user) == 0
    assert user_objects(peers, user) == {}


@pytest.mark.rules("auth-401", "refused-nothing")
def test_every_file_operation_needs_a_token(people, peers, db):
    owner = people.make()
    made = owner.file()
    anonymous = people.client()
    for method, path in (
        ("GET", f"/v1/files/{made['id']}"),
        ("GET", f"/v1/files/{made['id']}/download"),
        ("DELETE", f"/v1/files/{made['id']}"),
    ):
        assert_error(anonymous.request(method, path), 401, "unauthorized")
    assert owner.client.get(f"/v1/files/{made['id']}").json() == made
    assert rows_of(db, owner) == 1
    assert list(user_objects(peers, owner)) == [made["object_key"]]
