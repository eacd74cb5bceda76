"""Validation of JSON bodies and query strings, with JSON Schema's notion of types.

Bodies are parsed with decimal.Decimal for non-integer numbers, so money stays exact.
"""

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from .errors import NotFound, PayloadTooLarge, ValidationError
from .models import CENT

BIGINT_MAX = 2**63 - 1
MAX_PRICE = Decimal(1_000_000)
MAX_UNITS = 1_000_000
MAX_LINES = 100
_POSITIVE_ID = re.compile(r"[0-9]{1,19}")
_INTEGER = re.compile(r"-?[0-9]{1,30}")
# local@domain.tld: one "@", no whitespace, and a "." in the domain with characters on both sides.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def json_object(request: HttpRequest) -> dict[str, Any]:
    """The request body, which must be a JSON object."""
    try:
        data = json.loads(request.body, parse_float=Decimal)
    except RequestDataTooBig:
        raise PayloadTooLarge("The request body is too large.") from None
    except (ValueError, RecursionError):
        raise ValidationError("The body must be valid JSON.") from None
    if not isinstance(data, dict):
        raise ValidationError("The body must be a JSON object.")
    return data


def required(data: Mapping[str, Any], field: str) -> Any:
    if field not in data:
        raise ValidationError(f"{field} is required.")
    return data[field]


def text(field: str, value: Any, max_length: int) -> str:
    """A non-blank string of 1 to `max_length` characters that PostgreSQL can store."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string.")
    if not 1 <= len(value) <= max_length or not value.strip():
        raise ValidationError(f"{field} must be 1 to {max_length} characters and not blank.")
    _storable(field, value)
    return value


def _storable(field: str, value: str) -> None:
    if "\x00" in value:
        raise ValidationError(f"{field} must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{field} must be valid Unicode text.") from None


def email(field: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.fullmatch(value):
        raise ValidationError(f"{field} must be an email address like local@domain.tld.")
    _storable(field, value)
    return value


def integer(field: str, value: Any, minimum: int, maximum: int) -> int:
    """A JSON integer (3 or 3.0, never true or "3") between the bounds."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValidationError(f"{field} must be an integer.")
    # Compare before converting: Decimal("1e999999999") must never become an int.
    if not minimum <= value <= maximum:
        raise ValidationError(f"{field} must be between {minimum} and {maximum}.")
    if isinstance(value, Decimal) and value != value.to_integral_value():
        raise ValidationError(f"{field} must be an integer.")
    return int(value)


def price(field: str, value: Any) -> Decimal:
    """A number greater than 0 and at most 1000000, with at most two decimal places."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValidationError(f"{field} must be a number.")
    amount = Decimal(value)
    if not 0 < amount <= MAX_PRICE:
        raise ValidationError(f"{field} must be greater than 0 and at most {MAX_PRICE}.")
    if amount != amount.quantize(CENT):
        raise ValidationError(f"{field} must have at most two decimal places.")
    return amount.quantize(CENT)


def order_lines(value: Any) -> list[tuple[int, int]]:
    """The (product_id, quantity) pairs of an order, in the order they were sent."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_LINES:
        raise ValidationError(f"items must be a list of 1 to {MAX_LINES} lines.")
    lines = []
    for index, line in enumerate(value):
        if not isinstance(line, dict):
            raise ValidationError(f"items[{index}] must be an object.")
        product_id = integer(f"items[{index}].product_id", required(line, "product_id"), -BIGINT_MAX, BIGINT_MAX)
        quantity = integer(f"items[{index}].quantity", required(line, "quantity"), 1, MAX_UNITS)
        lines.append((product_id, quantity))
    return lines


def path_id(raw: str) -> int:
    """A positive id from the path; anything else names no row."""
    if not _POSITIVE_ID.fullmatch(raw) or not 0 < int(raw) <= BIGINT_MAX:
        raise NotFound("No such resource.")
    return int(raw)


def int_param(query: Mapping[str, str], field: str, default: int, minimum: int, maximum: int | None = None) -> int:
    raw = query.get(field)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw):
        raise ValidationError(f"{field} must be an integer.")
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ValidationError(f"{field} must be {bounds}.")
    return value


def paging(query: Mapping[str, str]) -> tuple[int, int]:
    """`limit` (1 to 100, default 50) and `offset` (0 or more, default 0)."""
    return int_param(query, "limit", 50, 1, 100), int_param(query, "offset", 0, 0)


def name_filter(query: Mapping[str, str]) -> str:
    raw = query.get("name", "")
    if len(raw) > 200:
        raise ValidationError("name must be at most 200 characters.")
    _storable("name", raw)
    return raw
