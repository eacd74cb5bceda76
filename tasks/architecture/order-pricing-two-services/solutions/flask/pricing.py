"""Internal pricing service (Flask under gunicorn, psycopg): products, quotes, price changes."""

import json
import os

import psycopg
from flask import Flask, g, jsonify, request

from shared import SKU_RE, Refused, install_errors, whole

app = Flask(__name__)
install_errors(app)


def db():
    if "conn" not in g:
        g.conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    return g.conn


@app.teardown_appcontext
def close(_exc):
    conn = g.pop("conn", None)
    if conn is not None:
        conn.close()


def setup():
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(424242)")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS products ("
            " sku varchar(64) PRIMARY KEY, unit_price_cents integer NOT NULL,"
            " stock bigint NOT NULL)"
        )
        for sku, price in (("WIDGET-1", 250), ("GADGET-2", 1299)):
            conn.execute(
                "INSERT INTO products VALUES (%s, %s, 1000000) ON CONFLICT DO NOTHING",
                (sku, price),
            )
        conn.execute("SELECT pg_advisory_unlock(424242)")


setup()


def price(unit, quantity):
    gross = unit * quantity
    return gross * 9 // 10 if quantity >= 10 else gross  # 10 % off, the total rounded down


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.get("/quote")
def quote():
    raw = request.args.get("quantity", "")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 1000:
        raise Refused(422, "validation_error", "quantity must be 1 to 1000")
    sku = request.args.get("sku", "")
    row = db().execute("SELECT unit_price_cents FROM products WHERE sku = %s", (sku,)).fetchone()
    if row is None:
        raise Refused(404, "unknown_sku", "unknown sku")
    quantity = int(raw)
    return jsonify(sku=sku, quantity=quantity, unit_price_cents=row[0],
                   total_cents=price(row[0], quantity))


@app.put("/prices/<path:sku>")
def put_price(sku):
    try:
        body = json.loads(request.get_data())
    except (ValueError, RecursionError):
        body = None
    if not SKU_RE.match(sku) or not isinstance(body, dict):
        raise Refused(422, "validation_error", "bad sku or body")
    unit, stock = body.get("unit_price_cents"), body.get("stock")
    if not whole(unit, 1, 1_000_000) or not whole(stock, 0, 1_000_000_000):
        raise Refused(422, "validation_error", "bad unit_price_cents or stock")
    db().execute(
        "INSERT INTO products (sku, unit_price_cents, stock) VALUES (%s, %s, %s) "
        "ON CONFLICT (sku) DO UPDATE SET unit_price_cents = %s, stock = %s",
        (sku, unit, stock, unit, stock),
    )
    return jsonify(sku=sku, unit_price_cents=unit, stock=stock)
