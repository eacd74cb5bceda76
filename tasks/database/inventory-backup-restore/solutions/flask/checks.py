"""Field checks shared by the create endpoints and the restore."""

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

BIGINT = 2**63 - 1
_STAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,6}))?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})",
    re.ASCII,
)
_MONEY = re.compile(r"\d{1,16}(\.\d{1,2})?", re.ASCII)
_MISSING = object()


class Invalid(Exception):
    """A value that breaks its field's rule: 422 validation_error."""


def need(data: dict, key: str) -> Any:
    if key not in data:
        raise Invalid(f"{key} is required")
    return data[key]


def string(value: Any, key: str, longest: int, *, null_ok: bool = False) -> str | None:
    if value is None and null_ok:
        return None
    if not isinstance(value, str):
        raise Invalid(f"{key} must be a string")
    if "\0" in value:
        raise Invalid(f"{key} must not contain NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Invalid(f"{key} must be valid Unicode") from exc
    if len(value) > longest:
        raise Invalid(f"{key} is longer than {longest} characters")
    if not null_ok and (value == "" or value.isspace()):
        raise Invalid(f"{key} must not be blank")
    return value


def whole(value: Any, key: str, lowest: int, highest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
        raise Invalid(f"{key} must be an integer from {lowest} to {highest}")
    return value


def quantity(value: Any) -> int:
    amount = whole(value, "quantity", -1_000_000, 1_000_000)
    if amount == 0:
        raise Invalid("quantity must not be 0")
    return amount


def price(value: Any) -> Decimal:
    if not isinstance(value, str) or not _MONEY.fullmatch(value):
        raise Invalid("price must be a string like \"12.50\"")
    return Decimal(value)


def stamp(value: Any, key: str) -> datetime:
    """An aware datetime whose tzinfo is the offset as written."""
    found = _STAMP.fullmatch(value) if isinstance(value, str) else None
    if not found:
        raise Invalid(f"{key} must look like 2024-03-10T12:34:56.123456+05:45")
    zone = found["zone"]
    if zone == "Z":
        tz = timezone.utc
    else:
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise Invalid(f"{key} has an offset of 24 hours or more")
        delta = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-delta if zone[0] == "-" else delta)
    frac = (found["frac"] or "").ljust(6, "0")
    try:
        naive = datetime.strptime(f"{found['date']} {found['time']}", "%Y-%m-%d %H:%M:%S")
    except ValueError as exc:
        raise Invalid(f"{key} is not a real date and time") from exc
    if not "1900-01-01" <= found["date"] <= "2999-12-31":
        raise Invalid(f"{key} must be dated 1900-01-01 to 2999-12-31")
    return naive.replace(microsecond=int(frac), tzinfo=tz)


def optional(data: dict, key: str) -> Any:
    return data.get(key, None)


def warehouse_fields(data: dict) -> dict:
    return {
        "code": string(need(data, "code"), "code", 40),
        "name": string(need(data, "name"), "name", 200),
        "address": string(optional(data, "address"), "address", 500, null_ok=True),
    }


def product_fields(data: dict) -> dict:
    return {
        "sku": string(need(data, "sku"), "sku", 64),
        "name": string(need(data, "name"), "name", 200),
        "description": string(optional(data, "description"), "description", 2000, null_ok=True),
        "price": price(need(data, "price")),
    }


def movement_fields(data: dict) -> dict:
    occurred = stamp(need(data, "occurred_at"), "occurred_at")
    return {
        "warehouse_id": whole(need(data, "warehouse_id"), "warehouse_id", 1, BIGINT),
        "product_id": whole(need(data, "product_id"), "product_id", 1, BIGINT),
        "quantity": quantity(need(data, "quantity")),
        "occurred_at": occurred,
        "occurred_utc_offset_seconds": int(occurred.utcoffset().total_seconds()),
        "note": string(optional(data, "note"), "note", 1000, null_ok=True),
    }
