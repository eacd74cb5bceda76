"""The /v1/items resource."""

from __future__ import annotations

import hmac
import json
import re
from typing import Any, TypeVar

import psycopg
from flask import Blueprint, Response, current_app, jsonify, request, url_for
from psycopg import sql
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from .db import pool
from .errors import Conflict, NotFound, Unauthorized, ValidationError
from .schemas import ItemCreate, ItemUpdate

bp = Blueprint("items", __name__, url_prefix="/v1/items")

ModelT = TypeVar("ModelT", bound=BaseModel)

COLUMNS = sql.SQL("id, name, sku, price, quantity, created_at")
SORTS = {
    "price": sql.SQL("price ASC, id ASC"),
    "-price": sql.SQL("price DESC, id ASC"),
    "name": sql.SQL("name ASC, id ASC"),
    "-name": sql.SQL("name DESC, id ASC"),
    "created_at": sql.SQL("created_at ASC, id ASC"),
    "-created_at": sql.SQL("created_at DESC, id ASC"),
}
BIGINT_MAX = 2**63 - 1
INTEGER = re.compile(r"-?[0-9]{1,30}")
NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,5})?")


@bp.before_request
def require_token_for_writes() -> None:
    """Writes need `Authorization: Bearer <APP_SECRET>`; reads are public."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    expected = current_app.config["APP_SECRET"]
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("A valid bearer token is required.")


def serialize(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "sku": row["sku"],
        "price": row["price"],
        "quantity": row["quantity"],
        "created_at": row["created_at"].isoformat(),
    }


def parse_body(model: type[ModelT]) -> ModelT:
    """Validate the JSON object in the request body against `model`."""
    try:
        data = json.loads(request.get_data())
    except (ValueError, RecursionError):
        raise ValidationError("The body must be valid JSON.") from None
    if not isinstance(data, dict):
        raise ValidationError("The body must be a JSON object.")
    try:
        return model.model_validate(data)
    except PydanticValidationError as ex:
        first = ex.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ValidationError(f"{where}: {first['msg']}") from None


def parse_item_id(raw: str) -> int:
    """An item id from the path: non-integers are invalid, unknown ids are not found."""
    if not INTEGER.fullmatch(raw):
        raise ValidationError("The item id must be an integer.")
    value = int(raw)
    if not 0 < value <= BIGINT_MAX:
        raise NotFound("No item with that id.")
    return value


def int_param(name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not INTEGER.fullmatch(raw):
        raise ValidationError(f"{name} must be an integer.")
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ValidationError(f"{name} must be {bounds}.")
    return value


def price_param(name: str) -> float | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not NUMBER.fullmatch(raw):
        raise ValidationError(f"{name} must be a number.")
    return float(raw)


def text_param(name: str) -> str | None:
    raw = request.args.get(name)
    if raw is not None and "\x00" in raw:
        raise ValidationError(f"{name} must not contain NUL characters.")
    return raw


@bp.get("")
def list_items() -> dict[str, Any]:
    limit = int_param("limit", 20, 1, 100)
    offset = int_param("offset", 0, 0)
    sort = request.args.get("sort", "created_at")
    if sort not in SORTS:
        raise ValidationError(f"sort must be one of {', '.join(SORTS)}.")
    name = text_param("name")
    min_price = price_param("min_price")
    max_price = price_param("max_price")

    conditions: list[sql.Composable] = []
    params: dict[str, Any] = {}
    if name is not None:
        conditions.append(sql.SQL("name = %(name)s"))
        params["name"] = name
    if min_price is not None:
        conditions.append(sql.SQL("price >= %(min_price)s"))
        params["min_price"] = min_price
    if max_price is not None:
        conditions.append(sql.SQL("price <= %(max_price)s"))
        params["max_price"] = max_price
    where = sql.SQL("WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")

    page = sql.SQL("SELECT {} FROM items {} ORDER BY {} LIMIT %(limit)s OFFSET %(offset)s").format(
        COLUMNS, where, SORTS[sort]
    )
    count = sql.SQL("SELECT count(*) AS total FROM items {}").format(where)
    with pool().connection() as conn:
        rows = conn.execute(page, {**params, "limit": limit, "offset": min(offset, BIGINT_MAX)}).fetchall()
        total_row = conn.execute(count, params).fetchone()
    total = total_row["total"] if total_row else 0
    return {"items": [serialize(row) for row in rows], "total": total, "limit": limit, "offset": offset}


@bp.post("")
def create_item() -> tuple[Response, int, dict[str, str]]:
    item = parse_body(ItemCreate)
    query = sql.SQL(
        "INSERT INTO items (name, sku, price, quantity) "
        "VALUES (%(name)s, %(sku)s, %(price)s, %(quantity)s) RETURNING {}"
    ).format(COLUMNS)
    try:
        with pool().connection() as conn:
            row = conn.execute(query, item.model_dump()).fetchone()
    except psycopg.errors.UniqueViolation:
        raise Conflict("An item with that name already exists.") from None
    if row is None:  # INSERT ... RETURNING always yields the new row
        raise RuntimeError("insert returned no row")
    location = url_for("items.get_item", item_id=row["id"])
    return jsonify(serialize(row)), 201, {"Location": location}


@bp.get("/<item_id>")
def get_item(item_id: str) -> dict[str, Any]:
    with pool().connection() as conn:
        row = conn.execute(
            sql.SQL("SELECT {} FROM items WHERE id = %s").format(COLUMNS), (parse_item_id(item_id),)
        ).fetchone()
    if row is None:
        raise NotFound("No item with that id.")
    return serialize(row)


@bp.patch("/<item_id>")
def update_item(item_id: str) -> dict[str, Any]:
    key = parse_item_id(item_id)
    changes = parse_body(ItemUpdate).changes()
    if changes:
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(field), sql.Placeholder(field)) for field in changes
        )
        query = sql.SQL("UPDATE items SET {} WHERE id = %(id)s RETURNING {}").format(assignments, COLUMNS)
    else:
        query = sql.SQL("SELECT {} FROM items WHERE id = %(id)s").format(COLUMNS)
    try:
        with pool().connection() as conn:
            row = conn.execute(query, {**changes, "id": key}).fetchone()
    except psycopg.errors.UniqueViolation:
        raise Conflict("An item with that name already exists.") from None
    if row is None:
        raise NotFound("No item with that id.")
    return serialize(row)


@bp.delete("/<item_id>")
def delete_item(item_id: str) -> Response:
    with pool().connection() as conn:
        deleted = conn.execute("DELETE FROM items WHERE id = %s", (parse_item_id(item_id),)).rowcount
    if not deleted:
        raise NotFound("No item with that id.")
    return Response(status=204)
