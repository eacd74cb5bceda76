"""League standings API: compute_standings() of the database, cached in Redis.

A read serves standings:<league id> when Redis holds it; on a miss one request per league takes
the lock lock:standings:<league id> (SET NX with a 10 s expiry), calls compute_standings and
stores its answer for 60 s while the others wait for it. Writes drop the league's entry once
committed. When Redis cannot be reached the service answers from the database alone.
"""

import asyncio
import hmac
import json
import os
import uuid
from contextlib import asynccontextmanager
from typing import Annotated

import redis.asyncio as aioredis
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

DATABASE_URL = os.environ["DATABASE_URL"]
REDIS_URL = os.environ["REDIS_URL"]
APP_SECRET = os.environ["APP_SECRET"]

MAX_ID = 2**31 - 1
MAX_MATCH_ID = 2**63 - 1
CACHE_TTL = 60  # seconds a cached standings entry lives
LOCK_TTL_MS = 10_000  # a crashed holder's lock frees itself after this
WAIT_SECONDS = 10.0  # how long a request waits for another's computation
POLL_SECONDS = 0.05

RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

pool = AsyncConnectionPool(DATABASE_URL, min_size=2, max_size=10, open=False)
rds = aioredis.from_url(
    REDIS_URL, decode_responses=True, socket_timeout=1.0, socket_connect_timeout=1.0
)


@asynccontextmanager
async def lifespan(_app):
    await pool.open()
    yield
    await pool.close()
    await rds.aclose()


app = FastAPI(lifespan=lifespan)


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


@app.exception_handler(RequestValidationError)
async def validation_handler(_request, _exc):
    return error(422, "validation_error", "invalid request")


@app.exception_handler(StarletteHTTPException)
async def http_handler(_request, exc):
    if exc.status_code == 404:
        return error(404, "not_found", "no such resource")
    return error(exc.status_code, "error", str(exc.detail))


def authorized(request: Request) -> bool:
    header = request.headers.get("authorization", "")
    expected = f"Bearer {APP_SECRET}"
    return hmac.compare_digest(header.encode(), expected.encode())


def standings_key(league_id: int) -> str:
    return f"standings:{league_id}"


class MatchIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    league_id: StrictInt = Field(ge=1, le=MAX_ID)
    home_team_id: StrictInt = Field(ge=1, le=MAX_ID)
    away_team_id: StrictInt = Field(ge=1, le=MAX_ID)
    home_goals: StrictInt = Field(ge=0, le=99)
    away_goals: StrictInt = Field(ge=0, le=99)


async def compute(league_id: int) -> str:
    """The league's standings body, from compute_standings, as JSON text."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT position, team_id, team_name, played, won, drawn, lost, goals_for,"
            " goals_against, points FROM compute_standings(%s)",
            (league_id,),
        )
        names = [c.name for c in cur.description]
        rows = [dict(zip(names, row)) for row in await cur.fetchall()]
    return json.dumps({"league_id": league_id, "standings": rows})


async def league_exists(league_id: int) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT 1 FROM leagues WHERE id = %s", (league_id,))
        return await cur.fetchone() is not None


async def cached_or_computed(league_id: int) -> str:
    key = standings_key(league_id)
    lock = f"lock:{key}"
    token = uuid.uuid4().hex
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    try:
        while True:
            if await rds.set(lock, token, nx=True, px=LOCK_TTL_MS):
                try:
                    body = await rds.get(key)  # filled while we waited for the lock
                    if body is None:
                        body = await compute(league_id)
                        await rds.set(key, body, ex=CACHE_TTL)
                    return body
                finally:
                    await rds.eval(RELEASE, 1, lock, token)
            # another request computes: wait for its result, or for its lock to go
            while True:
                if loop.time() > deadline:
                    return await compute(league_id)
                await asyncio.sleep(POLL_SECONDS)
                body = await rds.get(key)
                if body is not None:
                    return body
                if not await rds.exists(lock):
                    break
    except (RedisError, OSError):
        return await compute(league_id)  # Redis is down: the database alone


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/v1/standings")
async def get_standings(league_id: Annotated[int, Query(ge=1, le=MAX_ID)]):
    try:
        body = await rds.get(standings_key(league_id))
    except (RedisError, OSError):
        body = None
    if body is None:
        if not await league_exists(league_id):
            return error(404, "not_found", "no such league")
        body = await cached_or_computed(league_id)
    return Response(body, media_type="application/json")


async def invalidate(league_id: int) -> None:
    try:
        await rds.delete(standings_key(league_id))
    except (RedisError, OSError):
        pass  # Redis is down: nothing cached can be served either


@app.post("/v1/matches")
async def record_match(request: Request):
    if not authorized(request):
        return error(401, "unauthorized", "missing or wrong bearer token")
    try:
        match = MatchIn.model_validate_json(await request.body())
    except ValidationError:
        return error(422, "validation_error", "invalid match")
    if match.home_team_id == match.away_team_id:
        return error(422, "validation_error", "a team cannot play itself")
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT 1 FROM leagues WHERE id = %s", (match.league_id,))
        if await cur.fetchone() is None:
            return error(404, "not_found", "no such league")
        cur = await conn.execute(
            "SELECT count(*) FROM teams WHERE league_id = %s AND id IN (%s, %s)",
            (match.league_id, match.home_team_id, match.away_team_id),
        )
        if (await cur.fetchone())[0] != 2:
            return error(422, "validation_error", "both teams must belong to the league")
        cur = await conn.execute(
            "INSERT INTO matches (league_id, home_team_id, away_team_id, home_goals, away_goals)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (match.league_id, match.home_team_id, match.away_team_id,
             match.home_goals, match.away_goals),
        )  # fmt: skip
        match_id = (await cur.fetchone())[0]
    await invalidate(match.league_id)
    return JSONResponse({"id": match_id, **match.model_dump()}, status_code=201)


@app.delete("/v1/matches/{match_id}")
async def delete_match(request: Request, match_id: str):
    if not authorized(request):
        return error(401, "unauthorized", "missing or wrong bearer token")
    if not (match_id.isascii() and match_id.isdigit()) or not 1 <= int(match_id) <= MAX_MATCH_ID:
        return error(404, "not_found", "no such match")
    async with pool.connection() as conn:
        cur = await conn.execute(
            "DELETE FROM matches WHERE id = %s RETURNING league_id", (int(match_id),)
        )
        row = await cur.fetchone()
    if row is None:
        return error(404, "not_found", "no such match")
    await invalidate(row[0])
    return Response(status_code=204)
