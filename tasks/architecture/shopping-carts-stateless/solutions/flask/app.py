"""Shopping carts on Flask and gunicorn: a cart's lines are a JSONB column of its row, and an
order remembers the idempotency key it was made with, so a repeat is one lookup."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from typing import Any

import psycopg
import redis
from flask import Flask, Response, request
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool
from werkzeug.exceptions import HTTPException

SKU = re.compile(r"[A-Z0-9-]{1,32}")
CART_ID = re.compile(r"[1-9][0-9]{0,17}")
CLIENT_ID = re.compile(r"[!-~]{1,64}")
KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")

SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    sku TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    price_cents INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS carts (
    id BIGSERIAL PRIMARY KEY,
    secret_digest TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'checked_out')),
    lines JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE TABLE IF NOT EXISTS orders (
    id BIGSERIAL PRIMARY KEY,
    cart_id BIGINT NOT NULL UNIQUE REFERENCES carts (id),
    total_cents BIGINT NOT NULL,
    idempotency_key TEXT NOT NULL,
    answer JSONB NOT NULL,
    made_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
"""


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str, **headers: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers,
                    mimetype="application/json")  # fmt: skip


def bad(message: str) -> Refusal:
    return Refusal(422, "validation_error", message)


def no_cart() -> Refusal:
    return Refusal(404, "cart_not_found", "cart not found")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def create_app() -> Flask:
    app = Flask(__name__)
    pool = ConnectionPool(os.environ["DATABASE_URL"], min_size=1, max_size=10,
                          kwargs={"row_factory": dict_row})  # fmt: skip
    store = redis.Redis.from_url(os.environ["REDIS_URL"])
    with pool.connection() as conn:
        # held until the commit, so that a second worker sees the tables made
        conn.execute("SELECT pg_advisory_xact_lock(51123)")
        conn.execute(SCHEMA)

    @app.errorhandler(Refusal)
    def refusal(exc: Refusal) -> Response:
        return answer({"error": {"code": exc.code, "message": exc.message}}, exc.status,
                      exc.headers)  # fmt: skip

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.code or 500, "http_error")
        return answer({"error": {"code": code, "message": exc.description or ""}}, exc.code or 500)

    def body_object() -> dict[str, Any]:
        try:
            body = json.loads(request.get_data().decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise bad("malformed JSON") from None
        if not isinstance(body, dict):
            raise bad("a JSON object is required")
        return body

    def whole(body: dict[str, Any], field: str, top: int) -> int:
        value = body.get(field)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            raise bad(f"{field} must be an integer from 1 to {top}")
        return value

    def cart_row(conn: psycopg.Connection, cart_id: str, lock: bool) -> dict[str, Any]:
        token = request.headers.get("X-Cart-Token")
        if not token or not CART_ID.fullmatch(cart_id):
            raise no_cart()
        row = conn.execute(
            "SELECT id, secret_digest, status, lines FROM carts WHERE id = %s"
            + (" FOR UPDATE" if lock else ""),
            (int(cart_id),),
        ).fetchone()
        if row is None or not hmac.compare_digest(row["secret_digest"], digest(token)):
            raise no_cart()
        return row

    def lines_of(conn: psycopg.Connection, lines: dict[str, int]) -> list[dict[str, Any]]:
        prices = {
            r["sku"]: r
            for r in conn.execute(
                "SELECT sku, name, price_cents FROM products WHERE sku = ANY(%s)", (list(lines),)
            )
        }
        return [
            {"sku": sku, "name": prices[sku]["name"], "quantity": qty,
             "unit_price_cents": prices[sku]["price_cents"],
             "line_total_cents": qty * prices[sku]["price_cents"]}
            for sku, qty in sorted(lines.items())
        ]  # fmt: skip

    def show(conn: psycopg.Connection, cart: dict[str, Any]) -> dict[str, Any]:
        if cart["status"] == "checked_out":
            order = conn.execute(
                "SELECT answer FROM orders WHERE cart_id = %s", (cart["id"],)
            ).fetchone()
            items = order["answer"]["items"]
        else:
            items = lines_of(conn, cart["lines"])
        return {"id": cart["id"], "status": cart["status"], "items": items,
                "total_cents": sum(i["line_total_cents"] for i in items)}  # fmt: skip

    @app.get("/health")
    def health() -> Response:
        return answer({"status": "ok"})

    @app.get("/v1/products")
    def search() -> Response:
        client = request.headers.get("X-Client-Id")
        if client is None or not CLIENT_ID.fullmatch(client):
            raise bad("X-Client-Id is required: 1 to 64 printable ASCII characters")
        q = request.args.get("q")
        if q is not None and (not q or len(q) > 100 or "\x00" in q):
            raise bad("q must have 1 to 100 characters")
        key = "searches:" + digest(client)
        pipe = store.pipeline()
        pipe.set(key, 0, ex=60, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _, used, left = pipe.execute()
        if used > 20:
            raise Refusal(429, "rate_limited", "too many searches",
                          **{"Retry-After": str(max(1, min(60, left)))})  # fmt: skip
        pattern = None if q is None else "%" + re.sub(r"([\\%_])", r"\\\1", q) + "%"
        with pool.connection() as conn:
            rows = conn.execute(
                "SELECT sku, name, price_cents FROM products "
                "WHERE %(p)s::text IS NULL OR name ILIKE %(p)s ORDER BY sku LIMIT 100",
                {"p": pattern},
            ).fetchall()
        return answer({"items": rows})

    @app.get("/v1/products/<sku>")
    def read_product(sku: str) -> Response:
        with pool.connection() as conn:
            row = conn.execute(
                "SELECT sku, name, price_cents FROM products WHERE sku = %s", (sku,)
            ).fetchone() if SKU.fullmatch(sku) else None
        if row is None:
            raise Refusal(404, "product_not_found", "product not found")
        return answer(row)

    @app.put("/v1/products/<sku>")
    def write_product(sku: str) -> Response:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        expected = os.environ.get("APP_SECRET", "")
        if scheme.lower() != "bearer" or not expected or not hmac.compare_digest(
            digest(given), digest(expected)
        ):
            raise Refusal(401, "unauthorized", "staff only")
        body = body_object()
        name = body.get("name")
        if not SKU.fullmatch(sku):
            raise bad("bad sku")
        if not isinstance(name, str) or not 0 < len(name) <= 100 or "\x00" in name:
            raise bad("name must have 1 to 100 characters")
        try:
            name.encode()
        except UnicodeEncodeError:
            raise bad("name is not valid Unicode") from None
        price = whole(body, "price_cents", 10_000_000)
        with pool.connection() as conn:
            existed = conn.execute(
                "SELECT 1 FROM products WHERE sku = %s FOR UPDATE", (sku,)
            ).fetchone()
            conn.execute(
                "INSERT INTO products VALUES (%s, %s, %s) ON CONFLICT (sku) DO UPDATE "
                "SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents",
                (sku, name, price),
            )
        product = {"sku": sku, "name": name, "price_cents": price}
        return answer(product, 200 if existed else 201)

    @app.post("/v1/carts")
    def new_cart() -> Response:
        token = secrets.token_hex(24)
        with pool.connection() as conn:
            cart_id = conn.execute(
                "INSERT INTO carts (secret_digest) VALUES (%s) RETURNING id", (digest(token),)
            ).fetchone()["id"]
        return answer({"id": cart_id, "token": token, "status": "open", "items": [],
                       "total_cents": 0}, 201)  # fmt: skip

    @app.get("/v1/carts/<cart_id>")
    def read_cart(cart_id: str) -> Response:
        with pool.connection() as conn:
            return answer(show(conn, cart_row(conn, cart_id, lock=False)))

    @app.put("/v1/carts/<cart_id>/items/<sku>")
    def set_line(cart_id: str, sku: str) -> Response:
        with pool.connection() as conn:
            cart = cart_row(conn, cart_id, lock=True)
            quantity = whole(body_object(), "quantity", 99)
            known = SKU.fullmatch(sku) and conn.execute(
                "SELECT 1 FROM products WHERE sku = %s", (sku,)
            ).fetchone()
            if not known:
                raise Refusal(404, "product_not_found", "product not found")
            if cart["status"] != "open":
                raise Refusal(409, "cart_checked_out", "this cart is checked out")
            lines = dict(cart["lines"])
            if sku not in lines and len(lines) >= 10:
                raise Refusal(409, "cart_full", "a cart has at most 10 lines")
            lines[sku] = quantity
            conn.execute("UPDATE carts SET lines = %s WHERE id = %s", (Jsonb(lines), cart["id"]))
            return answer(show(conn, {**cart, "lines": lines}))

    @app.delete("/v1/carts/<cart_id>/items/<sku>")
    def drop_line(cart_id: str, sku: str) -> Response:
        with pool.connection() as conn:
            cart = cart_row(conn, cart_id, lock=True)
            if cart["status"] != "open":
                raise Refusal(409, "cart_checked_out", "this cart is checked out")
            lines = {k: v for k, v in cart["lines"].items() if k != sku}
            conn.execute("UPDATE carts SET lines = %s WHERE id = %s", (Jsonb(lines), cart["id"]))
            return answer(show(conn, {**cart, "lines": lines}))

    @app.post("/v1/carts/<cart_id>/checkout")
    def checkout(cart_id: str) -> Response:
        with pool.connection() as conn:
            cart = cart_row(conn, cart_id, lock=True)
            key = request.headers.get("Idempotency-Key", "")
            if not KEY.fullmatch(key):
                raise bad("Idempotency-Key is required: 1 to 64 of A-Z a-z 0-9 - _")
            if cart["status"] == "checked_out":
                order = conn.execute(
                    "SELECT answer FROM orders WHERE cart_id = %s AND idempotency_key = %s "
                    "AND made_at > now() - interval '24 hours'",
                    (cart["id"], key),
                ).fetchone()
                if order is None:
                    raise Refusal(409, "cart_checked_out", "this cart is checked out")
                return answer(order["answer"], 201)
            items = lines_of(conn, cart["lines"])
            if not items:
                raise Refusal(409, "cart_empty", "the cart is empty")
            total = sum(i["line_total_cents"] for i in items)
            order_id = conn.execute(
                "INSERT INTO orders (cart_id, total_cents, idempotency_key, answer) "
                "VALUES (%s, %s, %s, '{}') RETURNING id",
                (cart["id"], total, key),
            ).fetchone()["id"]
            body = {"id": order_id, "cart_id": cart["id"], "items": items, "total_cents": total}
            conn.execute("UPDATE orders SET answer = %s WHERE id = %s", (Jsonb(body), order_id))
            conn.execute("UPDATE carts SET status = 'checked_out' WHERE id = %s", (cart["id"],))
        return answer(body, 201)

    return app


app = create_app()
