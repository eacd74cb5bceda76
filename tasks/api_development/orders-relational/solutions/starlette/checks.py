"""Hand-written input checks: JSON bodies (numbers kept exact) and query strings.

Numbers follow JSON Schema: an "integer" is any JSON number without a fractional part.
"""

import json
import re
from decimal import Decimal
from typing import Any

from errors import invalid

MAX_BIGINT = 2**63 - 1
MAX_PRICE = Decimal(1_000_000)
CENT = Decimal("0.01")
_QUERY_INT = re.compile(r"-?[0-9]{1,30}")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def parse_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, floats as exact Decimals."""
    try:
        data = json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise invalid("the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise invalid("the body must be a JSON object")
    return data


def _is_number(value: object) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def _is_integral(value: object) -> bool:
    if isinstance(value, Decimal):
        return value.is_finite() and value == value.to_integral_value()
    return _is_number(value)


def integer(data: dict[str, Any], key: str, low: int, high: int) -> int:
    """`data[key]` as an integer from `low` to `high`."""
    value = data.get(key)
    if not _is_integral(value):
        raise invalid(f"{key} must be an integer")
    if not low <= value <= high:
        raise invalid(f"{key} must be from {low} to {high}")
    return int(value)


def reference(data: dict[str, Any], key: str) -> int | None:
    """`data[key]` as an id; None when it is an integer that cannot name any row."""
    value = data.get(key)
    if not _is_integral(value):
        raise invalid(f"{key} must be an integer")
    return int(value) if 1 <= value <= MAX_BIGINT else None


def text(data: dict[str, Any], key: str, max_length: int) -> str:
    """`data[key]` as a string of 1 to `max_length` characters that PostgreSQL can store."""
    value = data.get(key)
    if not isinstance(value, str):
        raise invalid(f"{key} must be a string")
    if not 1 <= len(value) <= max_length:
        raise invalid(f"{key} must have 1 to {max_length} characters")
    if not storable(value):
        raise invalid(f"{key} holds characters that cannot be stored")
    return value


def storable(value: str) -> bool:
    """Whether PostgreSQL's UTF-8 text can hold `value` (no NUL, no lone surrogate)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def name(data: dict[str, Any]) -> str:
    """A non-blank `name` of at most 200 characters."""
    value = text(data, "name", 200)
    if not value.strip():
        raise invalid("name must not be blank")
    return value


def email(data: dict[str, Any]) -> str:
    """An `email` shaped like local@domain.tld."""
    value = text(data, "email", 254)
    local, at, domain = value.partition("@")
    if not at or not local or "@" in domain or any(c.isspace() for c in value):
        raise invalid("email must look like local@domain.tld")
    if not any(c == "." for c in domain[1:-1]):
        raise invalid("email must look like local@domain.tld")
    return value


def price(data: dict[str, Any]) -> Decimal:
    """A `price` above 0, at most 1000000, with at most two decimals."""
    value = data.get("price")
    if not _is_number(value):
        raise invalid("price must be a number")
    amount = Decimal(value)
    if not 0 < amount <= MAX_PRICE:
        raise invalid("price must be above 0 and at most 1000000")
    if amount != amount.quantize(CENT):
        raise invalid("price must have at most two decimals")
    return amount


def query_int(params: Any, key: str, default: int, low: int, high: int | None) -> int:
    """Query parameter `key` as an integer in range, or `default` when absent."""
    raw = params.get(key)
    if raw is None:
        return default
    if not _QUERY_INT.fullmatch(raw):
        raise invalid(f"{key} must be an integer")
    value = int(raw)
    if value < low or (high is not None and value > high):
        raise invalid(f"{key} is out of range")
    return value


def paging(params: Any) -> tuple[int, int]:
    """`limit` (1-100, default 50) and `offset` (>= 0, default 0)."""
    limit = query_int(params, "limit", 50, 1, 100)
    offset = query_int(params, "offset", 0, 0, None)
    return limit, min(offset, MAX_BIGINT)


def path_id(raw: str) -> int | None:
    """A path id as a positive bigint, or None when it cannot name a row."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_BIGINT else None


def order_line(item: object) -> tuple[int | None, int]:
    """One `{"product_id", "quantity"}` line; the id is None when it cannot name a row."""
    if not isinstance(item, dict):
        raise invalid("each item must be an object")
    return reference(item, "product_id"), integer(item, "quantity", 1, 1_000_000)


def order(data: dict[str, Any]) -> tuple[int | None, list[tuple[int | None, int]]]:
    """`customer_id` and 1 to 100 lines."""
    customer_id = reference(data, "customer_id")
    items = data.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= 100:
        raise invalid("items must be a list of 1 to 100 lines")
    return customer_id, [order_line(item) for item in items]
