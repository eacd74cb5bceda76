"""Hand-written validation of item bodies and list query strings (no schema library)."""

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

INT32_MAX = 2_147_483_647
INT64_MAX = 9_223_372_036_854_775_807
SORT_ORDERS = {
    "price": "price ASC, id ASC",
    "-price": "price DESC, id ASC",
    "name": "name ASC, id ASC",
    "-name": "name DESC, id ASC",
    "created_at": "created_at ASC, id ASC",
    "-created_at": "created_at DESC, id ASC",
}
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class ValidationError(Exception):
    """A body field or query parameter that breaks the documented rules."""


@dataclass(frozen=True)
class ListQuery:
    """The validated parameters of ``GET /v1/items``."""

    limit: int
    offset: int
    name: str | None
    min_price: float | None
    max_price: float | None
    sort: str


def storable(text: str) -> bool:
    """Tell whether PostgreSQL can store ``text`` (valid UTF-8, no NUL character)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Decode a request body that must be a JSON object."""
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ValidationError("the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object")
    return body


def _reject_constant(token: str) -> None:
    raise ValueError(f"{token} is not valid JSON")


def _text(value: Any, field: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string")
    if not 1 <= len(value) <= max_length:
        raise ValidationError(f"{field} must be 1 to {max_length} characters long")
    if not storable(value):
        raise ValidationError(f"{field} contains characters that cannot be stored")
    return value


def _sku(value: Any) -> str | None:
    return None if value is None else _text(value, "sku", 64)


def _price(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError("price must be a number")
    try:
        price = float(value)
    except OverflowError as exc:
        raise ValidationError("price is too large") from exc
    if not math.isfinite(price) or price <= 0:
        raise ValidationError("price must be a finite number greater than 0")
    return price


def _quantity(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("quantity must be an integer")
    if not 0 <= value <= INT32_MAX:
        raise ValidationError(f"quantity must be between 0 and {INT32_MAX}")
    return value


FIELDS = {
    "name": lambda value: _text(value, "name", 100),
    "sku": _sku,
    "price": _price,
    "quantity": _quantity,
}
NOT_NULL = ("name", "price", "quantity")


def item_changes(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Validate the known fields present in ``body`` and return them, unknown fields dropped."""
    if creating:
        missing = [field for field in NOT_NULL if field not in body]
        if missing:
            raise ValidationError(f"missing required field(s): {', '.join(missing)}")
    changes = {}
    for field, check in FIELDS.items():
        if field not in body:
            continue
        if body[field] is None and field in NOT_NULL:
            raise ValidationError(f"{field} cannot be null")
        changes[field] = check(body[field])
    if creating:
        changes.setdefault("sku", None)
    return changes


def _int_param(params: Mapping[str, str], key: str, default: int, low: int, high: float) -> int:
    raw = params.get(key)
    if raw is None:
        return default
    try:
        value = int(raw) if _INTEGER.fullmatch(raw) else None
    except ValueError:  # more digits than Python converts
        value = None
    if value is None or not low <= value <= high:
        bounds = f"between {low} and {high}" if high < math.inf else f"of {low} or more"
        raise ValidationError(f"{key} must be an integer {bounds}")
    return value


def _price_param(params: Mapping[str, str], key: str) -> float | None:
    raw = params.get(key)
    if raw is None:
        return None
    if not _DECIMAL.fullmatch(raw):
        raise ValidationError(f"{key} must be a number")
    return float(raw)


def list_query(params: Mapping[str, str]) -> ListQuery:
    """Validate the query string of the listing endpoint."""
    sort = params.get("sort", "created_at")
    if sort not in SORT_ORDERS:
        raise ValidationError(f"sort must be one of {', '.join(SORT_ORDERS)}")
    return ListQuery(
        limit=_int_param(params, "limit", 20, 1, 100),
        offset=_int_param(params, "offset", 0, 0, math.inf),
        name=params.get("name"),
        min_price=_price_param(params, "min_price"),
        max_price=_price_param(params, "max_price"),
        sort=sort,
    )
