"""Inventory API on Flask and SQLAlchemy Core: warehouses, products, stock movements, and a
backup / restore of the whole data set."""

import hmac
import json
import os
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from flask import Flask, Response, request
from sqlalchemy import delete, func, insert, or_, select, text, update
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import HTTPException

import checks
from checks import Invalid
from db import ORDERED, engine, products, stock_movements, warehouses

app = Flask(__name__)
app.json.ensure_ascii = False
app.json.sort_keys = False


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error(status: int, code: str, message: str) -> Response:
    return app.response_class(
        json.dumps({"error": {"code": code, "message": message}}),
        status=status,
        mimetype="application/json",
    )


@app.errorhandler(Refused)
def on_refused(exc: Refused) -> Response:
    return error(exc.status, exc.code, exc.message)


@app.errorhandler(Invalid)
def on_invalid(exc: Invalid) -> Response:
    return error(422, "validation_error", str(exc))


@app.errorhandler(HTTPException)
def on_http(exc: HTTPException) -> Response:
    codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    return error(exc.code or 500, codes.get(exc.code, "http_error"), exc.description or "")


@app.before_request
def bearer_only() -> Response | None:
    if request.path == "/health":
        return None
    secret = os.environ.get("APP_SECRET", "")
    sent = request.headers.get("Authorization", "")
    if secret and hmac.compare_digest(sent.encode(), ("Bearer " + secret).encode()):
        return None
    return error(401, "unauthorized", "a valid bearer token is required")


def body() -> dict:
    try:
        data = json.loads(request.get_data(cache=False) or b"")
    except (ValueError, RecursionError) as exc:
        raise Invalid("the body must be JSON") from exc
    if not isinstance(data, dict):
        raise Invalid("the body must be a JSON object")
    return data


def row_id(raw: str) -> int:
    if raw.isascii() and raw.isdigit() and 0 < int(raw) <= checks.BIGINT:
        return int(raw)
    raise Refused(404, "not_found", "nothing has this id")


def when(value: datetime) -> str:
    return value.isoformat()


def show_warehouse(r) -> dict:
    return {"id": r.id, "code": r.code, "name": r.name, "address": r.address,
            "created_at": when(r.created_at)}  # fmt: skip


def show_product(r) -> dict:
    return {"id": r.id, "sku": r.sku, "name": r.name, "description": r.description,
            "price": str(Decimal(r.price).quantize(Decimal("0.01"))),
            "created_at": when(r.created_at), "updated_at": when(r.updated_at)}  # fmt: skip


def show_movement(r) -> dict:
    zone = timezone(timedelta(seconds=r.occurred_utc_offset_seconds))
    return {"id": r.id, "warehouse_id": r.warehouse_id, "product_id": r.product_id,
            "quantity": r.quantity, "occurred_at": when(r.occurred_at.astimezone(zone)),
            "note": r.note, "created_at": when(r.created_at)}  # fmt: skip


SHOW = {"warehouses": show_warehouse, "products": show_product,
        "stock_movements": show_movement}  # fmt: skip


def one(statement, shape, what: str):
    with engine.begin() as conn:
        found = conn.execute(statement).first()
    if found is None:
        raise Refused(404, "not_found", f"{what} not found")
    return shape(found)


def gone(statement, what: str, referenced: str) -> Response:
    try:
        with engine.begin() as conn:
            count = conn.execute(statement).rowcount
    except IntegrityError as exc:
        raise Refused(409, "conflict", referenced) from exc
    if not count:
        raise Refused(404, "not_found", f"{what} not found")
    return Response(status=204)


@app.get("/health")
def health():
    return {"status": "ok"}


@app.post("/v1/warehouses")
def add_warehouse():
    fields = checks.warehouse_fields(body())
    try:
        with engine.begin() as conn:
            made = conn.execute(insert(warehouses).values(**fields).returning(warehouses)).one()
    except IntegrityError as exc:
        raise Refused(409, "conflict", "this code is taken") from exc
    return show_warehouse(made), 201


@app.get("/v1/warehouses/<raw>")
def read_warehouse(raw: str):
    return one(select(warehouses).where(warehouses.c.id == row_id(raw)), show_warehouse,
               "warehouse")  # fmt: skip


@app.delete("/v1/warehouses/<raw>")
def drop_warehouse(raw: str):
    return gone(delete(warehouses).where(warehouses.c.id == row_id(raw)), "warehouse",
                "stock movements reference this warehouse")  # fmt: skip


@app.post("/v1/products")
def add_product():
    fields = checks.product_fields(body())
    try:
        with engine.begin() as conn:
            now = conn.execute(select(func.clock_timestamp())).scalar_one()
            made = conn.execute(
                insert(products).values(**fields, created_at=now, updated_at=now)
                .returning(products)
            ).one()  # fmt: skip
    except IntegrityError as exc:
        raise Refused(409, "conflict", "this sku is taken") from exc
    return show_product(made), 201


def literal_like(fragment: str) -> str:
    for special in ("\\", "%", "_"):
        fragment = fragment.replace(special, "\\" + special)
    return f"%{fragment}%"


def query_number(name: str, default: int, lowest: int, highest: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not lowest <= int(raw) <= highest:
        raise Invalid(f"{name} must be an integer from {lowest} to {highest}")
    return int(raw)


@app.get("/v1/products")
def list_products():
    q = request.args.get("q", "")
    if len(q) > 100 or "\0" in q:
        raise Invalid("q has at most 100 characters")
    limit = query_number("limit", 50, 1, 100)
    offset = query_number("offset", 0, 0, checks.BIGINT)
    condition = True
    if q:
        pattern = literal_like(q)
        condition = or_(products.c.sku.ilike(pattern, escape="\\"),
                        products.c.name.ilike(pattern, escape="\\"))  # fmt: skip
    with engine.begin() as conn:
        total = conn.execute(select(func.count()).select_from(products).where(condition)).scalar()
        rows = conn.execute(
            select(products).where(condition).order_by(products.c.id).limit(limit).offset(offset)
        ).all()
    return {"items": [show_product(r) for r in rows], "total": total}


@app.get("/v1/products/<raw>")
def read_product(raw: str):
    return one(select(products).where(products.c.id == row_id(raw)), show_product, "product")


@app.patch("/v1/products/<raw>")
def change_product(raw: str):
    pid = row_id(raw)
    data = body()
    values: dict = {}
    if "name" in data:
        values["name"] = checks.string(data["name"], "name", 200)
    if "description" in data:
        values["description"] = checks.string(data["description"], "description", 2000,
                                              null_ok=True)  # fmt: skip
    if "price" in data:
        values["price"] = checks.price(data["price"])
    if not values:
        raise Invalid("send at least one of name, description, price")
    statement = (
        update(products).where(products.c.id == pid)
        .values(**values, updated_at=func.clock_timestamp()).returning(products)
    )  # fmt: skip
    return one(statement, show_product, "product")


@app.delete("/v1/products/<raw>")
def drop_product(raw: str):
    return gone(delete(products).where(products.c.id == row_id(raw)), "product",
                "stock movements reference this product")  # fmt: skip


@app.post("/v1/movements")
def add_movement():
    fields = checks.movement_fields(body())
    try:
        with engine.begin() as conn:
            made = conn.execute(
                insert(stock_movements).values(**fields).returning(stock_movements)
            ).one()
    except IntegrityError as exc:
        raise Invalid("warehouse_id or product_id names nothing") from exc
    return show_movement(made), 201


@app.get("/v1/movements/<raw>")
def read_movement(raw: str):
    return one(select(stock_movements).where(stock_movements.c.id == row_id(raw)),
               show_movement, "movement")  # fmt: skip


@app.delete("/v1/movements/<raw>")
def drop_movement(raw: str):
    return gone(delete(stock_movements).where(stock_movements.c.id == row_id(raw)), "movement",
                "")  # fmt: skip


# ------------------------------------------------------------------ backup / restore


@app.get("/v1/admin/backup")
def take_backup():
    tables = {}
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        with conn.begin():
            for table in ORDERED:
                rows = conn.execute(select(table).order_by(table.c.id)).all()
                tables[table.name] = [SHOW[table.name](r) for r in rows]
    return {"format": "inventory-backup", "version": 1,
            "taken_at": when(datetime.now(timezone.utc)), "tables": tables}  # fmt: skip


def restore_rows(doc: dict) -> dict[str, list[dict]]:
    version = doc.get("version")
    if doc.get("format") != "inventory-backup" or type(version) is not int or version != 1:
        raise Invalid("not an inventory-backup document of version 1")
    tables = doc.get("tables")
    if not isinstance(tables, dict):
        raise Invalid("tables is required")
    out: dict[str, list[dict]] = {}
    for table in ORDERED:
        rows = tables.get(table.name)
        if not isinstance(rows, list):
            raise Invalid(f"tables.{table.name} must be a list")
        out[table.name] = []
        for row in rows:
            if not isinstance(row, dict):
                raise Invalid(f"tables.{table.name} holds something that is not a row")
            if table is warehouses:
                fields = checks.warehouse_fields(row) | {"address": checks.string(
                    checks.need(row, "address"), "address", 500, null_ok=True)}  # fmt: skip
            elif table is products:
                fields = checks.product_fields(row) | {
                    "description": checks.string(checks.need(row, "description"),
                                                 "description", 2000, null_ok=True),
                    "updated_at": checks.stamp(checks.need(row, "updated_at"), "updated_at"),
                }  # fmt: skip
            else:
                checks.need(row, "note")
                fields = checks.movement_fields(row)
            fields["id"] = checks.whole(checks.need(row, "id"), "id", 1, checks.BIGINT)
            fields["created_at"] = checks.stamp(checks.need(row, "created_at"), "created_at")
            out[table.name].append(fields)
    return out


@app.post("/v1/admin/restore")
def run_restore():
    rows = restore_rows(body())
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "LOCK TABLE warehouses, products, stock_movements IN ACCESS EXCLUSIVE MODE"
            ))  # fmt: skip
            for table in reversed(ORDERED):
                conn.execute(delete(table))
            for table in ORDERED:
                if rows[table.name]:
                    conn.execute(insert(table), rows[table.name])
            for table in ORDERED:
                top = conn.execute(select(func.max(table.c.id))).scalar()
                conn.execute(
                    text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v, :called)"),
                    {"t": table.name, "v": top or 1, "called": top is not None},
                )
    except (IntegrityError, DataError) as exc:
        raise Invalid("the document does not hold together") from exc
    return {"restored": {name: len(found) for name, found in rows.items()}}
