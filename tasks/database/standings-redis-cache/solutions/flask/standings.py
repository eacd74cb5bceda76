"""League standings (Flask, psycopg 3 sync pool, redis-py with its Lock object).

GET /v1/standings reads standings:<id>; on a miss the one request that holds redis-py's Lock on
lock:standings:<id> (SET NX PX 10 s, released by a token-checking script) calls
compute_standings; the rest poll for its result. Writes delete the league's key after commit.
"""

import json
import os
import re
import time

import redis
from flask import Flask, Response, request
from psycopg_pool import ConnectionPool
from redis.exceptions import LockError, RedisError

TTL = 60
LOCK_TIMEOUT = 10  # seconds
POLL = 0.05
INT32 = 2**31 - 1
INT64 = 2**63 - 1
DIGITS = re.compile(r"[0-9]{1,20}")
FIELDS = ("league_id", "home_team_id", "away_team_id", "home_goals", "away_goals")

secret = os.environ["APP_SECRET"]
db = ConnectionPool(os.environ["DATABASE_URL"], min_size=1, max_size=12, open=True)
cache = redis.Redis.from_url(
    os.environ["REDIS_URL"], decode_responses=True, socket_timeout=1, socket_connect_timeout=1
)
app = Flask(__name__)


def fail(status, code, message):
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(body, status=status, mimetype="application/json")


def as_json(payload, status=200):
    return Response(payload if isinstance(payload, str) else json.dumps(payload),
                    status=status, mimetype="application/json")  # fmt: skip


@app.errorhandler(404)
def _not_found(_e):
    return fail(404, "not_found", "not found")


@app.errorhandler(405)
def _not_allowed(_e):
    return fail(405, "method_not_allowed", "method not allowed")


@app.errorhandler(413)
def _too_large(_e):
    return fail(413, "validation_error", "body too large")


def parse_id(text, top):
    if text is None or not DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= top else None


def bearer_ok():
    return request.headers.get("Authorization", "") == f"Bearer {secret}"


def fetch_standings(league_id):
    with db.connection() as conn:
        cur = conn.execute("SELECT * FROM compute_standings(%s)", (league_id,))
        cols = [d.name for d in cur.description]
        rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    keep = ("position", "team_id", "team_name", "played", "won", "drawn", "lost",
            "goals_for", "goals_against", "points")  # fmt: skip
    return json.dumps({"league_id": league_id, "standings": [{k: r[k] for k in keep} for r in rows]})


def standings_text(league_id):
    key = f"standings:{league_id}"
    try:
        hit = cache.get(key)
        if hit is not None:
            return hit
    except RedisError:
        return None  # unknown yet: the caller checks the league and computes
    give_up = time.monotonic() + 2 * LOCK_TIMEOUT
    try:
        lock = cache.lock(f"lock:{key}", timeout=LOCK_TIMEOUT, sleep=POLL)
        while time.monotonic() < give_up:
            if lock.acquire(blocking=False):
                try:
                    text = cache.get(key)
                    if text is None:
                        text = fetch_standings(league_id)
                        cache.set(key, text, ex=TTL)
                    return text
                finally:
                    try:
                        lock.release()
                    except LockError:
                        pass  # expired meanwhile
            while time.monotonic() < give_up:
                time.sleep(POLL)
                text = cache.get(key)
                if text is not None:
                    return text
                if not cache.exists(f"lock:{key}"):
                    break
    except RedisError:
        pass
    return fetch_standings(league_id)


def league_known(league_id):
    with db.connection() as conn:
        return conn.execute("SELECT 1 FROM leagues WHERE id = %s", (league_id,)).fetchone() is not None


def drop_cached(league_id):
    try:
        cache.delete(f"standings:{league_id}")
    except RedisError:
        pass


@app.get("/health")
def health():
    return as_json({"status": "ok"})


@app.get("/v1/standings")
def get_standings():
    league_id = parse_id(request.args.get("league_id"), INT32)
    if league_id is None:
        return fail(422, "validation_error", "league_id must be an integer from 1 to 2147483647")
    try:
        hit = cache.get(f"standings:{league_id}")
    except RedisError:
        hit = None
    if hit is not None:
        return as_json(hit)
    if not league_known(league_id):
        return fail(404, "not_found", "no such league")
    text = standings_text(league_id)
    if text is None:
        text = fetch_standings(league_id)
    return as_json(text)


@app.post("/v1/matches")
def post_match():
    if not bearer_ok():
        return fail(401, "unauthorized", "bearer token required")
    try:
        body = json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep
        return fail(422, "validation_error", "body is not JSON")
    if not isinstance(body, dict):
        return fail(422, "validation_error", "body must be an object")
    values = {}
    for field in FIELDS:
        value = body.get(field)
        low, high = (0, 99) if field.endswith("goals") else (1, INT32)
        if type(value) is not int or not low <= value <= high:
            return fail(422, "validation_error", f"{field}: integer from {low} to {high}")
        values[field] = value
    if values["home_team_id"] == values["away_team_id"]:
        return fail(422, "validation_error", "the teams must differ")
    with db.connection() as conn:
        with conn.transaction():
            if conn.execute("SELECT 1 FROM leagues WHERE id = %s",
                            (values["league_id"],)).fetchone() is None:  # fmt: skip
                return fail(404, "not_found", "no such league")
            found = conn.execute(
                "SELECT count(*) FROM teams WHERE league_id = %s AND id = ANY(%s)",
                (values["league_id"], [values["home_team_id"], values["away_team_id"]]),
            ).fetchone()[0]
            if found != 2:
                return fail(422, "validation_error", "teams must belong to the league")
            new_id = conn.execute(
                "INSERT INTO matches (league_id, home_team_id, away_team_id, home_goals,"
                " away_goals) VALUES (%(league_id)s, %(home_team_id)s, %(away_team_id)s,"
                " %(home_goals)s, %(away_goals)s) RETURNING id",
                values,
            ).fetchone()[0]
    drop_cached(values["league_id"])
    return as_json({"id": new_id, **values}, 201)


@app.delete("/v1/matches/<match_id>")
def delete_match(match_id):
    if not bearer_ok():
        return fail(401, "unauthorized", "bearer token required")
    number = parse_id(match_id, INT64)
    if number is None:
        return fail(404, "not_found", "no such match")
    with db.connection() as conn:
        row = conn.execute(
            "DELETE FROM matches WHERE id = %s RETURNING league_id", (number,)
        ).fetchone()
    if row is None:
        return fail(404, "not_found", "no such match")
    drop_cached(row[0])
    return Response(status=204)
