"""League standings served from compute_standings() through a Redis cache.

Every test makes a league of its own (through the superuser connection: leagues and teams are
managed outside the API) and counts that league's calls of compute_standings in
standings_calls. Where a test needs the function to stay busy, it holds an EXCLUSIVE lock on
standings_calls from its own connection: the function's INSERT into the log waits for it, so
every concurrent request has arrived before the first computation can finish.
"""

import json
import threading
import time
import uuid

import pytest

BEARER_WRONG = "Bearer wrong-" + uuid.uuid4().hex


def make_league(db, unique, teams=3):
    """A new league with `teams` teams: (league id, [team ids], [team names])."""
    name = unique("league")
    league_id = db.scalar("INSERT INTO leagues (name) VALUES (%s) RETURNING id", (name,))
    names = [f"{name}-team-{i}" for i in range(teams)]
    ids = [
        db.scalar("INSERT INTO teams (league_id, name) VALUES (%s, %s) RETURNING id", (league_id, n))
        for n in names
    ]
    return league_id, ids, names


def calls(db, league_id):
    return db.scalar("SELECT count(*) FROM standings_calls WHERE league_id = %s", (league_id,))


def waiting_on_log(db):
    """How many backends wait for the lock this test holds on standings_calls."""
    return db.scalar(
        "SELECT count(*) FROM pg_locks WHERE relation = 'standings_calls'::regclass "
        "AND NOT granted"
    )


def wait_until(predicate, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def record(authed_api, league_id, home, away, home_goals, away_goals):
    r = authed_api.post(
        "/v1/matches",
        json={
            "league_id": league_id,
            "home_team_id": home,
            "away_team_id": away,
            "home_goals": home_goals,
            "away_goals": away_goals,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def standings(api, league_id, **kwargs):
    r = api.get("/v1/standings", params={"league_id": league_id}, **kwargs)
    assert r.status_code == 200, r.text
    return r.json()


def by_team(body):
    return {row["team_id"]: row for row in body["standings"]}


def error_code(response):
    return response.json()["error"]["code"]


@pytest.mark.rules("health-ok")
def test_health_answers_ok(api):
    r = api.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


@pytest.mark.rules("read-rows", "read-empty-league", "write-record")
def test_standings_are_the_rows_of_compute_standings(api, authed_api, db, unique):
    league, (a, b, c), names = make_league(db, unique)
    empty = standings(api, league)
    assert empty["league_id"] == league
    assert {row["team_id"] for row in empty["standings"]} == {a, b, c}
    assert all(row["played"] == row["points"] == 0 for row in empty["standings"])
    record(authed_api, league, a, b, 2, 0)
    record(authed_api, league, b, c, 1, 1)
    body = standings(api, league)
    # compute_standings orders by points, then goal difference: a (3), c (1, 0), b (1, -2)
    assert body == {
        "league_id": league,
        "standings": [
            {"position": 1, "team_id": a, "team_name": names[0], "played": 1, "won": 1,
             "drawn": 0, "lost": 0, "goals_for": 2, "goals_against": 0, "points": 3},
            {"position": 2, "team_id": c, "team_name": names[2], "played": 1, "won": 0,
             "drawn": 1, "lost": 0, "goals_for": 1, "goals_against": 1, "points": 1},
            {"position": 3, "team_id": b, "team_name": names[1], "played": 2, "won": 0,
             "drawn": 1, "lost": 1, "goals_for": 1, "goals_against": 3, "points": 1},
        ],
    }  # fmt: skip


@pytest.mark.rules("miss-calls-once", "key-format", "ttl-60", "hit-no-call", "lock-released")
def test_a_cold_read_calls_once_and_caches_the_body_for_60_seconds(api, db, redis, unique):
    league, _, _ = make_league(db, unique)
    key = f"standings:{league}"
    assert redis.get(key) is None
    first = standings(api, league)
    assert calls(db, league) == 1
    stored = redis.get(key)
    assert stored is not None, f"nothing cached under {key}"
    assert json.loads(stored) == first
    assert 55 <= redis.ttl(key) <= 60, f"TTL {redis.ttl(key)}, not 60 s"
    assert redis.exists(f"lock:standings:{league}") == 0, "the lock outlives the computation"
    second = standings(api, league)
    assert second == first
    assert calls(db, league) == 1, "a read within the TTL called compute_standings again"


@pytest.mark.rules("hit-as-is", "hit-no-call")
def test_a_value_in_the_key_is_served_as_is(api, db, redis, unique):
    league, (a, _, _), _ = make_league(db, unique)
    planted = {
        "league_id": league,
        "standings": [
            {"position": 1, "team_id": a, "team_name": unique("from-redis"), "played": 7,
             "won": 7, "drawn": 0, "lost": 0, "goals_for": 21, "goals_against": 0, "points": 21},
        ],
    }  # fmt: skip
    redis.set(f"standings:{league}", json.dumps(planted), ex=60)
    assert standings(api, league) == planted
    assert calls(db, league) == 0
    # a hit is not checked against the database, not even whether the league exists
    ghost = 2_100_000_000 + uuid.uuid4().int % 40_000_000
    redis.set(f"standings:{ghost}", json.dumps({**planted, "league_id": ghost}), ex=60)
    assert standings(api, ghost) == {**planted, "league_id": ghost}


@pytest.mark.rules("invalidate-record")
def test_recording_a_match_shows_at_the_next_read(api, authed_api, db, unique):
    league, (a, b, _), _ = make_league(db, unique)
    before = by_team(standings(api, league))
    assert before[a]["played"] == 0
    record(authed_api, league, a, b, 3, 1)
    after = by_team(standings(api, league))
    assert (after[a]["played"], after[a]["won"], after[a]["points"]) == (1, 1, 3)
    assert (after[b]["played"], after[b]["lost"], after[b]["goals_against"]) == (1, 1, 3)


@pytest.mark.rules("invalidate-delete", "delete-204")
def test_deleting_a_match_shows_at_the_next_read(api, authed_api, db, unique):
    league, (a, b, _), _ = make_league(db, unique)
    first = record(authed_api, league, a, b, 1, 0)
    record(authed_api, league, b, a, 2, 2)
    before = by_team(standings(api, league))
    assert (before[a]["played"], before[a]["points"]) == (2, 4)
    r = authed_api.delete(f"/v1/matches/{first['id']}")
    assert r.status_code == 204, r.text
    assert db.scalar("SELECT count(*) FROM matches WHERE id = %s", (first["id"],)) == 0
    after = by_team(standings(api, league))
    assert (after[a]["played"], after[a]["points"]) == (1, 1)
    assert (after[b]["played"], after[b]["points"]) == (1, 1)


@pytest.mark.rules("invalidate-only-league")
def test_a_write_leaves_other_leagues_cached(api, authed_api, db, redis, unique):
    league, (a, b, _), _ = make_league(db, unique)
    other, _, _ = make_league(db, unique)
    standings(api, league)
    cached = standings(api, other)
    record(authed_api, league, a, b, 0, 0)
    assert redis.get(f"standings:{other}") is not None, "a write in one league dropped another's"
    assert json.loads(redis.get(f"standings:{other}")) == cached
    assert calls(db, other) == 1


@pytest.mark.rules("no-stampede")
def test_twenty_concurrent_cold_reads_call_compute_standings_once(
    api, client_factory, db, unique
):
    league, (a, b, _), _ = make_league(db, unique)
    db.execute(
        "INSERT INTO matches (league_id, home_team_id, away_team_id, home_goals, away_goals) "
        "VALUES (%s, %s, %s, 4, 2)",
        (league, a, b),
    )
    clients = [client_factory(deadline=20) for _ in range(20)]
    start = threading.Barrier(len(clients))
    answers = [None] * len(clients)

    def read(i):
        start.wait(timeout=10)
        answers[i] = clients[i].get("/v1/standings", params={"league_id": league})

    threads = [threading.Thread(target=read, args=(i,)) for i in range(len(clients))]
    with db.transaction():
        db.execute("LOCK TABLE standings_calls IN EXCLUSIVE MODE")
        for t in threads:
            t.start()
        assert wait_until(lambda: waiting_on_log(db) >= 1), "no read called compute_standings"
        # every request has arrived by now; a second computation shows at once
        wait_until(lambda: waiting_on_log(db) >= 2, timeout=1.5)
    for t in threads:
        t.join(timeout=25)
    assert all(r is not None and r.status_code == 200 for r in answers), [
        r and r.status_code for r in answers
    ]
    bodies = [r.json() for r in answers]
    assert all(body == bodies[0] for body in bodies)
    assert by_team(bodies[0])[a]["points"] == 3
    assert calls(db, league) == 1, "concurrent cold reads each called compute_standings"


@pytest.mark.rules("lock-key-expiry")
def test_the_lock_is_held_in_redis_with_an_expiry_of_at_most_10_seconds(
    client_factory, db, redis, unique
):
    league, _, _ = make_league(db, unique)
    client = client_factory(deadline=20)
    answer = []
    thread = threading.Thread(
        target=lambda: answer.append(client.get("/v1/standings", params={"league_id": league}))
    )
    with db.transaction():
        db.execute("LOCK TABLE standings_calls IN EXCLUSIVE MODE")
        thread.start()
        assert wait_until(lambda: waiting_on_log(db) >= 1), "the read never called compute_standings"
        lock = f"lock:standings:{league}"
        ttl = redis.pttl(lock)
    thread.join(timeout=20)
    assert ttl != -2, f"no {lock} in Redis while compute_standings ran"
    assert 0 < ttl <= 10_000, f"{lock} has no expiry of at most 10 s (PTTL {ttl})"
    assert answer and answer[0].status_code == 200


@pytest.mark.rules("lock-crashed-holder")
def test_the_lock_of_a_crashed_holder_does_not_block_the_league(api, db, redis, unique):
    league, _, _ = make_league(db, unique)
    redis.set(f"lock:standings:{league}", "crashed-holder", px=1500)
    body = standings(api, league, extensions={"deadline": 9})
    assert len(body["standings"]) == 3
    assert calls(db, league) == 1
    assert redis.get(f"standings:{league}") is not None


@pytest.mark.rules("redis-down")
def test_with_redis_down_reads_and_writes_still_answer_from_the_database(
    api, authed_api, db, services, unique
):
    league, (a, b, _), _ = make_league(db, unique)
    services.stop("redis")
    first = standings(api, league, extensions={"deadline": 3})
    assert by_team(first)[a]["played"] == 0
    r = authed_api.post(
        "/v1/matches",
        json={"league_id": league, "home_team_id": a, "away_team_id": b,
              "home_goals": 5, "away_goals": 0},
        extensions={"deadline": 3},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    after = by_team(standings(api, league, extensions={"deadline": 3}))
    assert (after[a]["played"], after[a]["goals_for"]) == (1, 5)
    assert calls(db, league) >= 2


@pytest.mark.rules("auth-required", "error-body")
def test_writes_need_the_bearer_token_and_change_nothing_without_it(
    api, authed_api, db, unique, app_secret
):
    league, (a, b, _), _ = make_league(db, unique)
    match = record(authed_api, league, a, b, 1, 0)
    body = {"league_id": league, "home_team_id": b, "away_team_id": a,
            "home_goals": 0, "away_goals": 1}  # fmt: skip
    for headers in ({}, {"Authorization": BEARER_WRONG}, {"Authorization": f"bearer {app_secret}"},
                    {"Authorization": app_secret}):  # fmt: skip
        r = api.post("/v1/matches", json=body, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert error_code(r) == "unauthorized"
        assert isinstance(r.json()["error"]["message"], str)
        r = api.delete(f"/v1/matches/{match['id']}", headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert error_code(r) == "unauthorized"
    r = api.post("/v1/matches", json={"league_id": "x"})
    assert r.status_code == 401, "an invalid body without the token must be a 401"
    assert db.scalar("SELECT count(*) FROM matches WHERE league_id = %s", (league,)) == 1


@pytest.mark.rules("write-record", "write-stored")
def test_recording_a_match_answers_and_stores_it(authed_api, db, unique):
    league, (a, b, _), _ = make_league(db, unique)
    match = record(authed_api, league, b, a, 99, 0)
    assert isinstance(match["id"], int)
    assert match == {"id": match["id"], "league_id": league, "home_team_id": b,
                     "away_team_id": a, "home_goals": 99, "away_goals": 0}  # fmt: skip
    row = db.execute(
        "SELECT league_id, home_team_id, away_team_id, home_goals, away_goals "
        "FROM matches WHERE id = %s",
        (match["id"],),
    ).fetchone()
    assert row == (league, b, a, 99, 0)


@pytest.mark.rules("write-validation", "write-league-404", "error-body")
def test_invalid_matches_are_refused_and_not_stored(authed_api, db, unique):
    league, (a, b, _), _ = make_league(db, unique)
    _, (foreign, _, _), _ = make_league(db, unique)
    good = {"league_id": league, "home_team_id": a, "away_team_id": b,
            "home_goals": 1, "away_goals": 0}  # fmt: skip
    bad = [
        {**good, "away_team_id": a},
        {**good, "away_team_id": foreign},
        {**good, "home_goals": 100},
        {**good, "away_goals": -1},
        {**good, "home_goals": 1.0},
        {**good, "home_goals": "5"},
        {**good, "home_team_id": True},
        {k: v for k, v in good.items() if k != "away_goals"},
        {**good, "home_team_id": 2**31},
        {**good, "away_team_id": 2**31},
        {**good, "league_id": 2**31},
        {**good, "league_id": 0},
        {**good, "home_team_id": 0},
        {**good, "away_team_id": 0},
        [good],
    ]
    for body in bad:
        r = authed_api.post("/v1/matches", json=body)
        assert r.status_code == 422, (body, r.text)
        assert error_code(r) == "validation_error"
    r = authed_api.post("/v1/matches", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    r = authed_api.post("/v1/matches", json={**good, "league_id": 2_000_000_000})
    assert r.status_code == 404
    assert error_code(r) == "not_found"
    assert db.scalar("SELECT count(*) FROM matches WHERE league_id = %s", (league,)) == 0
    r = authed_api.post("/v1/matches", json={**good, "note": "ignored"})
    assert r.status_code == 201, "fields not listed are ignored"


@pytest.mark.rules("read-league-404", "read-league-id-422", "error-body")
def test_standings_of_an_unknown_or_invalid_league(api, db, redis):
    missing = 2_000_000_000 + int(uuid.uuid4().int % 100_000_000)
    r = api.get("/v1/standings", params={"league_id": missing})
    assert r.status_code == 404
    assert error_code(r) == "not_found"
    assert redis.exists(f"standings:{missing}") == 0
    r = api.get("/v1/standings", params={"league_id": 2147483647})
    assert r.status_code == 404, "2147483647 is a valid league id that names no league"
    for value in ("abc", "1.5", "0", "-3", "2147483648", ""):
        r = api.get("/v1/standings", params={"league_id": value})
        assert r.status_code == 422, (value, r.text)
        assert error_code(r) == "validation_error"
    r = api.get("/v1/standings")
    assert r.status_code == 422
    assert error_code(r) == "validation_error"


@pytest.mark.rules("delete-404")
def test_deleting_a_match_that_does_not_exist(authed_api, db, unique):
    r = authed_api.delete("/v1/matches/9000000000000000000")
    assert r.status_code == 404
    assert error_code(r) == "not_found"
    league, (a, b, _), _ = make_league(db, unique)
    match = record(authed_api, league, a, b, 2, 2)
    stored = db.scalar("SELECT count(*) FROM matches")
    mid = match["id"]
    for value in ("abc", "0", "-1", "1.5", "null%2Cnull", "99999999999999999999", "\u0661",
                  f"-{mid}", f"{mid}.5"):  # fmt: skip
        r = authed_api.delete(f"/v1/matches/{value}")
        assert r.status_code in (404, 422), (value, r.text)
        assert error_code(r) == ("not_found" if r.status_code == 404 else "validation_error")
    assert db.scalar("SELECT count(*) FROM matches") == stored, "a malformed id deleted a match"
    assert db.scalar("SELECT count(*) FROM matches WHERE id = %s", (mid,)) == 1


# md5 of compute_standings' body as seed.py creates it
SEEDED_FUNCTION_MD5 = "97e4e843b1eb9c137ef33ac34b577951"


@pytest.mark.rules("seeded-untouched")
def test_compute_standings_and_its_log_are_as_seeded(api, db):
    assert api.get("/health").status_code == 200
    functions = db.execute(
        "SELECT md5(p.prosrc) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE p.proname = 'compute_standings' AND n.nspname = current_schema()"
    ).fetchall()
    assert functions == [(SEEDED_FUNCTION_MD5,)], "compute_standings was replaced or altered"
    assert db.columns("standings_calls") == {
        "id": "bigint", "league_id": "integer", "called_at": "timestamp with time zone"
    }  # fmt: skip
    assert db.scalar(
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'standings_calls'::regclass "
        "AND NOT tgisinternal"
    ) == 0, "a trigger on standings_calls"
    assert db.scalar(
        "SELECT count(*) FROM pg_rules WHERE tablename = 'standings_calls'"
    ) == 0, "a rule on standings_calls"


@pytest.mark.rules("delete-204", "invalidate-delete")
def test_matches_with_the_smallest_and_largest_ids_can_be_deleted(authed_api, db, unique):
    league, (a, b, _), _ = make_league(db, unique)
    largest = 2**63 - 1
    db.execute(
        "INSERT INTO matches (id, league_id, home_team_id, away_team_id, home_goals, away_goals)"
        " VALUES (%s, %s, %s, %s, 1, 0) ON CONFLICT (id) DO NOTHING",
        (largest, league, a, b),
    )
    r = authed_api.delete(f"/v1/matches/{largest}")
    assert r.status_code == 204, r.text
    assert db.scalar("SELECT count(*) FROM matches WHERE id = %s", (largest,)) == 0
    # match 1 is seeded; it is put back as it was after the delete
    smallest = db.execute(
        "SELECT league_id, home_team_id, away_team_id, home_goals, away_goals "
        "FROM matches WHERE id = 1"
    ).fetchone()
    if smallest is None:
        smallest = (league, a, b, 0, 0)
        db.execute(
            "INSERT INTO matches (id, league_id, home_team_id, away_team_id, home_goals,"
            " away_goals) VALUES (1, %s, %s, %s, %s, %s)",
            smallest,
        )
    try:
        r = authed_api.delete("/v1/matches/1")
        assert r.status_code == 204, r.text
        assert db.scalar("SELECT count(*) FROM matches WHERE id = 1") == 0
    finally:
        db.execute(
            "INSERT INTO matches (id, league_id, home_team_id, away_team_id, home_goals,"
            " away_goals) VALUES (1, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
            smallest,
        )
