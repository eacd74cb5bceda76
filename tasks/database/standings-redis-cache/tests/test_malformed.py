"""Malformed requests: what the prompt settles for bytes, sizes and content types.

Writes carry the token: an invalid body without it is a 401 (the auth test covers that)."""

import json

import pytest

MiB = 1024 * 1024


def make_league(db, unique, teams=3):
    """A new league with `teams` teams: (league id, [team ids])."""
    name = unique("league")
    league_id = db.scalar("INSERT INTO leagues (name) VALUES (%s) RETURNING id", (name,))
    ids = [
        db.scalar("INSERT INTO teams (league_id, name) VALUES (%s, %s) RETURNING id",
                  (league_id, f"{name}-team-{i}"))  # fmt: skip
        for i in range(teams)
    ]
    return league_id, ids


def stored_matches(db, league_id):
    return db.scalar("SELECT count(*) FROM matches WHERE league_id = %s", (league_id,))


def calls(db, league_id):
    return db.scalar("SELECT count(*) FROM standings_calls WHERE league_id = %s", (league_id,))


def assert_error(response, status, code):
    assert response.status_code == status, (
        response.request.method,
        str(response.request.url),
        response.text[:300],
    )
    body = response.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def post_match_raw(client_factory, auth_headers, content: bytes, content_type: str):
    """POST /v1/matches on a connection of its own, closed after: a server may close a
    connection whose body it did not read, and no other request may depend on it."""
    with client_factory(headers={**auth_headers, "Content-Type": content_type}) as client:
        return client.post("/v1/matches", content=content)


def match_body(league, home, away, **extra):
    return {"league_id": league, "home_team_id": home, "away_team_id": away,
            "home_goals": 3, "away_goals": 1, **extra}  # fmt: skip


def assert_stored_only_if_accepted(db, response, league, home, away):
    """A 201 stored the match as sent, once; any refusal stored nothing."""
    if response.status_code == 201:
        match = response.json()
        assert match == {"id": match["id"], **match_body(league, home, away)}
    assert stored_matches(db, league) == (1 if response.status_code == 201 else 0)


@pytest.mark.rules("invalid-utf8-body", "write-validation", "error-body")
def test_a_match_body_that_is_not_utf8_is_422_and_stores_nothing(
    client_factory, auth_headers, unique, db
):
    league, (a, b, _) = make_league(db, unique)
    valid = json.dumps(match_body(league, a, b)).encode()
    for raw in (
        valid[:-1] + b', "note": "\xff\xfe"}',
        valid[:-1] + b', "note": "caf\xe9"}',  # Latin-1
        b'{"league_id": %d, "home_team_id": %d\xff, "away_team_id": %d}' % (league, a, b),
    ):
        response = post_match_raw(client_factory, auth_headers, raw, "application/json")
        assert_error(response, 422, "validation_error")
    assert stored_matches(db, league) == 0


@pytest.mark.rules("invalid-utf8-query", "read-league-id-422", "error-body")
def test_a_league_id_that_is_not_utf8_is_422_and_computes_nothing(api, db, redis, unique):
    league, _ = make_league(db, unique)
    for query in ("league_id=%FF", f"league_id={league}%FF", f"league_id=%FF{league}",
                  f"league_id={league}%C0%80"):  # fmt: skip
        assert_error(api.get(f"/v1/standings?{query}"), 422, "validation_error")
    assert calls(db, league) == 0, "an invalid league_id computed standings"
    assert redis.exists(f"standings:{league}") == 0
    # another parameter that is not UTF-8 is refused, or read with replacements and ignored
    response = api.get(f"/v1/standings?league_id={league}&note=%FF%FE")
    if response.status_code == 200:
        assert response.json()["league_id"] == league
        assert len(response.json()["standings"]) == 3
    else:
        assert_error(response, 422, "validation_error")
        assert calls(db, league) == 0


@pytest.mark.rules("oversized-body")
def test_a_body_over_1_mib_is_refused_or_handled_like_any_other(
    api, client_factory, auth_headers, unique, db
):
    league, (a, b, _) = make_league(db, unique)
    body = json.dumps(match_body(league, a, b, padding="x" * (MiB + 1024))).encode()
    response = post_match_raw(client_factory, auth_headers, body, "application/json")
    assert response.status_code in (201, 413, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    assert_stored_only_if_accepted(db, response, league, a, b)
    assert api.get("/health").status_code == 200


@pytest.mark.rules("content-type")
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_of_another_content_type_is_refused_or_read_as_json(
    client_factory, auth_headers, unique, db, content_type
):
    league, (a, b, _) = make_league(db, unique)
    body = json.dumps(match_body(league, a, b)).encode()
    response = post_match_raw(client_factory, auth_headers, body, content_type)
    assert response.status_code in (201, 415, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    assert_stored_only_if_accepted(db, response, league, a, b)
