"""Store sales reports, in Flask: reports cached in Redis under optimistic locking.

A cached report carries the generation of its store and year that it was computed at; a sale
increments that generation once committed. A reader stores what it computed only if the
generation did not move meanwhile (WATCH), and serves a cached report only if its generation is
the current one.
"""

from __future__ import annotations

import hmac
import json
import os
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import redis
from flask import Flask, Response, request
from psycopg import errors
from psycopg_pool import ConnectionPool

MAX_INT = 2**31 - 1
FIRST_YEAR, LAST_YEAR = 2000, 2100
TTL_SECONDS = 600

app = Flask(__name__)
pool = ConnectionPool(os.environ.get("DATABASE_URL", ""), min_size=1, max_size=8, open=True)
cache = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                             socket_timeout=1, decode_responses=True)

GROUPS = """
SELECT product_id, extract(month FROM sold_at AT TIME ZONE 'UTC')::int,
       sum(quantity::bigint * unit_price_cents), count(*), sum(quantity)
FROM sales
WHERE store_id = %(store)s
  AND sold_at >= make_timestamptz(%(year)s, 1, 1, 0, 0, 0, 'UTC')
  AND sold_at < make_timestamptz(%(year)s + 1, 1, 1, 0, 0, 0, 'UTC')
GROUP BY 1, 2
"""


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error(status: int, code: str, message: str) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(body, status=status, mimetype="application/json")


@app.errorhandler(Refused)
def refused(exc: Refused) -> Response:
    response = error(exc.status, exc.code, exc.message)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


@app.errorhandler(404)
def no_route(_exc: Exception) -> Response:
    return error(404, "not_found", "no such route")


@app.errorhandler(405)
def no_method(_exc: Exception) -> Response:
    return error(405, "method_not_allowed", "method not allowed")


def json_of(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")


def store_id_of(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_INT:
        raise Refused(404, "not_found", "store not found")
    return int(raw)


def store_exists(store: int) -> bool:
    with pool.connection() as conn:
        return conn.execute("SELECT 1 FROM stores WHERE id = %s", (store,)).fetchone() is not None


_names: dict[int, str] = {}


def product_name(product_id: int) -> str:
    """Products never change (only sales are written): their names are read once."""
    if not _names:
        with pool.connection() as conn:
            _names.update(conn.execute("SELECT id, name FROM products").fetchall())
    return _names[product_id]


def compute(store: int, year: int) -> dict[str, Any]:
    with pool.connection() as conn:
        rows = conn.execute(GROUPS, {"store": store, "year": year}).fetchall()
    months = {m: [0, 0] for m in range(1, 13)}
    products: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for product, month, revenue, count, units in rows:
        months[month][0] += int(revenue)
        months[month][1] += int(count)
        products[product][0] += int(revenue)
        products[product][1] += int(units)
    best = sorted(products.items(), key=lambda p: (-p[1][0], p[0]))[:5]
    return {
        "store_id": store,
        "year": year,
        "revenue_cents": sum(m[0] for m in months.values()),
        "sales": sum(m[1] for m in months.values()),
        "units": sum(p[1] for p in products.values()),
        "months": [{"month": m, "revenue_cents": r, "sales": c} for m, (r, c) in months.items()],
        "top_products": [
            {"product_id": p, "name": product_name(p), "revenue_cents": r, "units": u}
            for p, (r, u) in best
        ],
    }


def report_of(store: int, year: int) -> dict[str, Any]:
    generation_key = f"report-generation:{store}:{year}"
    key = f"report:{store}:{year}"
    with cache.pipeline() as pipe:
        pipe.watch(generation_key)
        generation = pipe.get(generation_key) or "0"
        hit = pipe.get(key)
        if hit is not None:
            stored = json.loads(hit)
            if stored["generation"] == generation:
                pipe.unwatch()
                return dict(stored["report"])
        report = compute(store, year)
        pipe.multi()
        pipe.set(key, json.dumps({"generation": generation, "report": report}), ex=TTL_SECONDS)
        try:
            pipe.execute()
        except redis.WatchError:
            pass  # a sale came in meanwhile: this report is not kept
    return report


@app.get("/health")
def health() -> Response:
    return json_of({"status": "ok"})


@app.get("/v1/stores/<raw_id>/report")
def get_report(raw_id: str) -> Response:
    store = store_id_of(raw_id)
    raw = request.args.get("year", "")
    if not raw.isascii() or not raw.isdigit() or not FIRST_YEAR <= int(raw) <= LAST_YEAR:
        raise Refused(422, "validation_error", "year: an integer from 2000 to 2100")
    if not store_exists(store):
        raise Refused(404, "not_found", "store not found")
    return json_of(report_of(store, int(raw)))


def authorised() -> bool:
    secret = os.environ.get("APP_SECRET", "")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return bool(secret) and scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), secret.encode()
    )


def integer(body: dict[str, Any], name: str, low: int, high: int) -> int:
    value = body.get(name)
    if type(value) is not int or not low <= value <= high:
        raise Refused(422, "validation_error", f"{name}: an integer from {low} to {high}")
    return value


def sale_of(raw: bytes) -> tuple[int, int, int, datetime]:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # nested past Python's stack
        raise Refused(422, "validation_error", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise Refused(422, "validation_error", "the body is not a JSON object")
    product = integer(body, "product_id", 1, MAX_INT)
    quantity = integer(body, "quantity", 1, 1000)
    price = integer(body, "unit_price_cents", 0, 10_000_000)
    text = body.get("sold_at")
    try:
        # fromisoformat reads past a trailing NUL: no timestamp holds one
        readable = isinstance(text, str) and text.isprintable()
        sold_at = datetime.fromisoformat(text) if readable else None
    except ValueError:
        sold_at = None
    if sold_at is None or sold_at.tzinfo is None:
        raise Refused(422, "validation_error", "sold_at: an ISO 8601 timestamp with an offset")
    if not FIRST_YEAR <= sold_at.astimezone(UTC).year <= LAST_YEAR:
        raise Refused(422, "validation_error", "sold_at: a UTC year from 2000 to 2100")
    return product, quantity, price, sold_at


@app.post("/v1/stores/<raw_id>/sales")
def record_sale(raw_id: str) -> Response:
    if not authorised():
        raise Refused(401, "unauthorized", "missing or invalid bearer token")
    store = store_id_of(raw_id)
    product, quantity, price, sold_at = sale_of(request.get_data())
    with pool.connection() as conn:
        if conn.execute("SELECT 1 FROM stores WHERE id = %s", (store,)).fetchone() is None:
            raise Refused(404, "not_found", "store not found")
        try:
            row = conn.execute(
                "INSERT INTO sales (store_id, product_id, quantity, unit_price_cents, sold_at) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id, sold_at",
                (store, product, quantity, price, sold_at),
            ).fetchone()
        except errors.ForeignKeyViolation:
            raise Refused(422, "validation_error", "product_id: no such product") from None
    assert row is not None
    sale_id, stored_at = row
    cache.incr(f"report-generation:{store}:{stored_at.astimezone(UTC).year}")
    return json_of({"id": sale_id, "store_id": store, "product_id": product, "quantity": quantity,
                    "unit_price_cents": price, "sold_at": stored_at.isoformat()}, 201)
