"""Public orders service (Flask under gunicorn, requests, psycopg_pool, redis)."""

import json
import os

import redis
import requests
from flask import Flask, jsonify, request
from psycopg_pool import ConnectionPool

from shared import QUEUE_KEY, SKU_RE, Refused, install_errors, whole

LIMIT = 65536
FIELDS = ("id", "sku", "quantity", "unit_price_cents", "total_cents", "status")

app = Flask(__name__)
install_errors(app)
pool = ConnectionPool(os.environ["DATABASE_URL"], min_size=1, max_size=8,
                      kwargs={"autocommit": True})
queue = redis.Redis.from_url(os.environ["REDIS_URL"])
session = requests.Session()
PRICING = os.environ["PRICING_URL"]

with pool.connection() as _conn:
    _conn.execute("SELECT pg_advisory_lock(434343)")
    _conn.execute(
        "CREATE TABLE IF NOT EXISTS orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " sku varchar(64) NOT NULL, quantity integer NOT NULL,"
        " unit_price_cents integer NOT NULL, total_cents bigint NOT NULL,"
        " status varchar(16) NOT NULL DEFAULT 'pending')"
    )
    _conn.execute("CREATE INDEX IF NOT EXISTS orders_by_sku ON orders (sku, id)")
    _conn.execute("SELECT pg_advisory_unlock(434343)")


def as_dict(row):
    return dict(zip(FIELDS, row, strict=True))


def too_large():
    # drain what the client is still sending (up to 8 MiB), so that it reads the answer
    drained = 0
    while drained < 8 * 1024 * 1024:
        chunk = request.stream.read(65536)
        if not chunk:
            break
        drained += len(chunk)
    return Refused(413, "payload_too_large", "body over 64 KiB")


def read_body():
    if request.content_length is not None and request.content_length > 8 * 1024 * 1024:
        raise Refused(413, "payload_too_large", "body over 64 KiB")
    data = request.stream.read(LIMIT + 1)
    if len(data) > LIMIT:
        raise too_large()
    if request.mimetype != "application/json":
        raise Refused(415, "unsupported_media_type", "application/json only")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Refused(422, "validation_error", "malformed JSON") from None


def ask_price(sku, quantity):
    try:
        resp = session.get(f"{PRICING}/quote", params={"sku": sku, "quantity": quantity},
                           timeout=(0.5, 1.4))
    except requests.RequestException:
        raise Refused(503, "pricing_unavailable", "pricing did not answer") from None
    if resp.status_code == 404:
        raise Refused(422, "unknown_sku", "unknown sku")
    if resp.status_code != 200:
        raise Refused(503, "pricing_unavailable", f"pricing answered {resp.status_code}")
    data = resp.json()
    return data["unit_price_cents"], data["total_cents"]


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.post("/v1/orders")
def create():
    body = read_body()
    if not isinstance(body, dict):
        raise Refused(422, "validation_error", "a JSON object is required")
    sku, quantity = body.get("sku"), body.get("quantity")
    if not isinstance(sku, str) or not SKU_RE.match(sku) or not whole(quantity, 1, 1000):
        raise Refused(422, "validation_error", "sku or quantity is invalid")
    unit, total = ask_price(sku, quantity)
    with pool.connection() as conn:
        row = conn.execute(
            "INSERT INTO orders (sku, quantity, unit_price_cents, total_cents) "
            "VALUES (%s, %s, %s, %s) RETURNING " + ", ".join(FIELDS),
            (sku, quantity, unit, total),
        ).fetchone()
    queue.lpush(QUEUE_KEY, json.dumps({"order_id": row[0]}))
    return jsonify(as_dict(row)), 201


@app.get("/v1/orders")
def listing():
    sku = request.args.get("sku")
    if sku is None or not SKU_RE.match(sku):
        raise Refused(422, "validation_error", "sku is required")
    with pool.connection() as conn:
        rows = conn.execute(
            "SELECT " + ", ".join(FIELDS) + " FROM orders WHERE sku = %s ORDER BY id LIMIT 100",
            (sku,),
        ).fetchall()
    return jsonify(items=[as_dict(r) for r in rows])


@app.get("/v1/orders/<path:raw>")
def one(raw):
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 2**63:
        raise Refused(404, "not_found", "no such order")
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT " + ", ".join(FIELDS) + " FROM orders WHERE id = %s", (int(raw),)
        ).fetchone()
    if row is None:
        raise Refused(404, "not_found", "no such order")
    return jsonify(as_dict(row))
