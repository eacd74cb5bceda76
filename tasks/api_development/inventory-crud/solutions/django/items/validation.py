"""Validation of JSON bodies and query strings, with JSON Schema's notion of types."""

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from .errors import PayloadTooLarge, ValidationError
from .models import MAX_QUANTITY

BIGINT_MAX = 2**63 - 1
_INTEGER = re.compile(r"-?[0-9]{1,30}")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,5})?")

Validator = Callable[[str, Any], Any]


def json_object(request: HttpRequest) -> dict[str, Any]:
    """The request body, which must be a JSON object."""
    try:
        data = json.loads(request.body)
    except RequestDataTooBig:
        raise PayloadTooLarge("The request body is too large.") from None
    except (ValueError, RecursionError):
        raise ValidationError("The body must be valid JSON.") from None
    if not isinstance(data, dict):
        raise ValidationError("The body must be a JSON object.")
    return data


def _text(field: str, value: Any, max_length: int) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string.")
    if not 1 <= len(value) <= max_length:
        raise ValidationError(f"{field} must be 1 to {max_length} characters long.")
    if "\x00" in value:
        raise ValidationError(f"{field} must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{field} must be valid Unicode text.") from None
    return value


def name(field: str, value: Any) -> str:
    return _text(field, value, 100)


def sku(field: str, value: Any) -> str | None:
    return None if value is None else _text(field, value, 64)


def price(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{field} must be a number.")
    try:
        number = float(value)
    except OverflowError:
        raise ValidationError(f"{field} is out of range.") from None
    if not math.isfinite(number) or number <= 0:
        raise ValidationError(f"{field} must be a finite number greater than 0.")
    return number


def quantity(field: str, value: Any) -> int:
    # 3.0 is an integer in JSON Schema; true, 3.5 and "3" are not.
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be an integer.")
    if not 0 <= value <= MAX_QUANTITY:
        raise ValidationError(f"{field} must be between 0 and {MAX_QUANTITY}.")
    return value


ITEM_FIELDS: dict[str, Validator] = {"name": name, "sku": sku, "price": price, "quantity": quantity}
REQUIRED_ON_CREATE = ("name", "price", "quantity")


def item_fields(data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """The known item fields of a body, validated; unknown fields are ignored."""
    if not partial:
        for field in REQUIRED_ON_CREATE:
            if field not in data:
                raise ValidationError(f"{field} is required.")
    return {field: check(field, data[field]) for field, check in ITEM_FIELDS.items() if field in data}


def item_id(raw: str) -> int | None:
    """An id from the path; None when it is an integer that cannot name an item."""
    if not _INTEGER.fullmatch(raw):
        raise ValidationError("The item id must be an integer.")
    value = int(raw)
    return value if 0 < value <= BIGINT_MAX else None


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


def number_param(query: Mapping[str, str], field: str) -> float | None:
    raw = query.get(field)
    if raw is None:
        return None
    if not _NUMBER.fullmatch(raw):
        raise ValidationError(f"{field} must be a number.")
    return float(raw)


def text_param(query: Mapping[str, str], field: str) -> str | None:
    raw = query.get(field)
    if raw is not None and "\x00" in raw:
        raise ValidationError(f"{field} must not contain NUL characters.")
    return raw
