"""The field rules of a product record, as plain functions: each returns the value to store or
raises Fault(code, field)."""

from __future__ import annotations

import datetime
import re
import string
from decimal import Decimal, InvalidOperation

SKU_CHARS = frozenset(string.ascii_letters + string.digits + "._-")
SKU_FIRST = frozenset(string.ascii_letters + string.digits)
ORDER = ("sku", "name", "price", "quantity", "available_from")
TOP_PRICE = Decimal("999999.99")
NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


class Fault(Exception):
    def __init__(self, code: str, field: str | None = None) -> None:
        super().__init__(code, field)
        self.code = code
        self.field = field


def digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def sku(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise Fault("invalid", "sku")
    if value[0] not in SKU_FIRST or any(ch not in SKU_CHARS for ch in value):
        raise Fault("invalid", "sku")
    return value


def name(value: object) -> str:
    if not isinstance(value, str) or len(value) > 200 or NOT_TEXT.search(value):
        raise Fault("invalid", "name")
    return value


def price_text(value: str) -> Decimal:
    whole, dot, cents = value.partition(".")
    if not digits(whole) or len(whole) > 6 or (dot and not (digits(cents) and len(cents) <= 2)):
        raise Fault("invalid", "price")
    return Decimal(value).quantize(Decimal("0.01"))


def price_number(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise Fault("invalid", "price")
    number = Decimal(value)
    try:
        cents = number * 100
        if not number.is_finite() or not 0 <= number <= TOP_PRICE or cents != int(cents):
            raise Fault("invalid", "price")
    except (InvalidOperation, OverflowError):
        raise Fault("invalid", "price") from None
    return number.quantize(Decimal("0.01"))


def quantity_text(value: str) -> int:
    if not digits(value) or len(value.lstrip("0")) > 7 or int(value) > 1_000_000:
        raise Fault("invalid", "quantity")
    return int(value)


def quantity_number(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1_000_000:
        raise Fault("invalid", "quantity")
    return value


def day(value: object) -> datetime.date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise Fault("invalid", "available_from")
    if not all(digits(part) for part in (value[:4], value[5:7], value[8:])):
        raise Fault("invalid", "available_from")
    try:
        parsed = datetime.date(int(value[:4]), int(value[5:7]), int(value[8:]))
    except ValueError:
        raise Fault("invalid", "available_from") from None
    if not 2000 <= parsed.year <= 2099:
        raise Fault("invalid", "available_from")
    return parsed


def product(fields: dict[str, object], textual: bool) -> tuple:
    """(sku, name, price, quantity, available_from) from a record's fields: CSV cells when
    `textual`, JSON values otherwise. The first field at fault, in ORDER, raises."""
    values: dict[str, object] = {}
    for field in ORDER:
        value = fields.get(field)
        empty = value is None or value == ""
        if empty and field != "available_from":
            raise Fault("missing", field)
        if field == "sku":
            values[field] = sku(value)
        elif field == "name":
            values[field] = name(value)
        elif field == "price":
            values[field] = price_text(value) if textual else price_number(value)  # type: ignore[arg-type]
        elif field == "quantity":
            values[field] = quantity_text(value) if textual else quantity_number(value)  # type: ignore[arg-type]
        else:
            values[field] = None if empty else day(value)
    return tuple(values[field] for field in ORDER)
