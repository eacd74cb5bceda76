"""Turning the records of an import (CSV cells or JSON objects) into products or rejections."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

FIELDS = ("sku", "name", "price", "quantity", "available_from")
REQUIRED = ("sku", "name", "price", "quantity")
SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", re.ASCII)
PRICE = re.compile(r"[0-9]{1,6}(\.[0-9]{1,2})?", re.ASCII)
QUANTITY = re.compile(r"[0-9]+", re.ASCII)
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
MAX_QUANTITY = 1_000_000
MAX_PRICE = Decimal("999999.99")
FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2099, 12, 31)
CENT = Decimal("0.01")
# bytes that were not UTF-8 come out of the surrogateescape decoder as U+DC80..U+DCFF
UNDECODABLE = re.compile("[\udc80-\udcff]")
BAD_TEXT = re.compile("[\x00\ud800-\udfff]")

Product = tuple[str, str, Decimal, int, "dt.date | None"]
# a long cell is judged by its field's rule (a name over 200 characters is invalid), not refused
# by the csv module's default limit of 128 KiB
csv.field_size_limit(16 * 1024 * 1024)


class Rejected(Exception):
    """A record that is not stored: its reason code and the field at fault (or None)."""

    def __init__(self, code: str, field: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.field = field


class BadHeader(Exception):
    """A CSV body whose header cannot be used: the whole import is refused."""


def check_text(field: str, value: str, longest: int) -> str:
    if len(value) > longest or BAD_TEXT.search(value):
        raise Rejected("invalid", field)
    return value


def check_sku(value: str) -> str:
    if not SKU.fullmatch(value):
        raise Rejected("invalid", "sku")
    return value


def check_price(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0 or value > MAX_PRICE or value != value.quantize(CENT):
        raise Rejected("invalid", "price")
    return value.quantize(CENT)


def check_quantity(value: int) -> int:
    if not 0 <= value <= MAX_QUANTITY:
        raise Rejected("invalid", "quantity")
    return value


def parse_date(value: str) -> dt.date:
    if not DATE.fullmatch(value):
        raise Rejected("invalid", "available_from")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise Rejected("invalid", "available_from") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Rejected("invalid", "available_from")
    return day


def from_cells(cells: dict[str, str]) -> Product:
    """A product from a CSV record's cells (by column name); raises Rejected."""
    sku = cells["sku"]
    if sku == "":
        raise Rejected("missing", "sku")
    check_sku(sku)
    name = cells["name"]
    if name == "":
        raise Rejected("missing", "name")
    check_text("name", name, 200)
    price = cells["price"]
    if price == "":
        raise Rejected("missing", "price")
    if not PRICE.fullmatch(price):
        raise Rejected("invalid", "price")
    quantity = cells["quantity"]
    if quantity == "":
        raise Rejected("missing", "quantity")
    # leading zeros count for nothing; past 7 significant digits it is over the maximum anyway
    if not QUANTITY.fullmatch(quantity) or len(quantity.lstrip("0")) > 7:
        raise Rejected("invalid", "quantity")
    day = cells.get("available_from", "")
    return (
        sku,
        name,
        check_price(Decimal(price)),
        check_quantity(int(quantity)),
        parse_date(day) if day != "" else None,
    )


def from_object(obj: Any) -> Product:
    """A product from a JSON record; raises Rejected."""
    if not isinstance(obj, dict):
        raise Rejected("malformed_row")
    values = []
    for field in REQUIRED:
        value = obj.get(field)
        if value is None or value == "":
            raise Rejected("missing", field)
        values.append(value)
    sku, name, price, quantity = values
    if not isinstance(sku, str):
        raise Rejected("invalid", "sku")
    check_sku(sku)
    if not isinstance(name, str):
        raise Rejected("invalid", "name")
    check_text("name", name, 200)
    if isinstance(price, bool) or not isinstance(price, (int, Decimal)):
        raise Rejected("invalid", "price")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise Rejected("invalid", "quantity")
    day = obj.get("available_from")
    if day is not None and not isinstance(day, str):
        raise Rejected("invalid", "available_from")
    return (
        sku,
        name,
        check_price(Decimal(price)),
        check_quantity(quantity),
        parse_date(day) if day else None,
    )


def load_json(text: str | bytes) -> Any:
    """JSON with its non-integral numbers as Decimal (NaN and Infinity are not numbers); JSON
    nested too deeply to parse is not valid JSON either."""
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=refuse_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# -- streams ---------------------------------------------------------------------------------


def text_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """The body's lines, each with its line break, decoded as UTF-8 (bytes that are not UTF-8
    kept as surrogate escapes); a leading byte order mark is dropped."""
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    pending = ""
    started = False
    for chunk in chunks:
        text = pending + decoder.decode(chunk)
        if not started and text:
            started = True
            text = text.removeprefix("\ufeff")
        lines = text.split("\n")
        pending = lines.pop()
        for line in lines:
            yield line + "\n"
    pending += decoder.decode(b"", final=True)
    if not started:
        pending = pending.removeprefix("\ufeff")
    if pending:
        yield pending


def byte_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The body's lines without their line breaks (LF or CRLF)."""
    pending = b""
    for chunk in chunks:
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            yield line.removesuffix(b"\r")
    if pending:
        yield pending.removesuffix(b"\r")


Outcome = tuple[int, "Product | Rejected"]


def csv_records(chunks: Iterable[bytes]) -> Iterator[Outcome]:
    """(row number, product or rejection) of every data record of a CSV body: the first
    record is the header, empty lines are no records. Raises BadHeader before any record."""
    reader = csv.reader(text_lines(chunks), strict=False)
    header: list[str] | None = None
    row = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            if header is None:
                raise BadHeader("the header row is not valid CSV") from None
            row += 1
            yield row, Rejected("malformed_row")
            continue
        if not cells:
            continue
        if header is None:
            header = check_header(cells)
            continue
        row += 1
        yield row, csv_record(header, cells)
    if header is None:
        raise BadHeader("the body has no header row")


def check_header(cells: list[str]) -> list[str]:
    if any(UNDECODABLE.search(cell) for cell in cells):
        raise BadHeader("the header row is not UTF-8")
    if len(set(cells)) != len(cells):
        raise BadHeader("the header row names a column twice")
    missing = [name for name in REQUIRED if name not in cells]
    if missing:
        raise BadHeader(f"the header row lacks the column(s) {', '.join(missing)}")
    return cells


def csv_record(header: list[str], cells: list[str]) -> Product | Rejected:
    if any(UNDECODABLE.search(cell) for cell in cells):
        return Rejected("invalid_encoding")
    if len(cells) != len(header):
        return Rejected("wrong_field_count")
    try:
        return from_cells(dict(zip(header, cells, strict=True)))
    except Rejected as rejected:
        return rejected


def ndjson_records(chunks: Iterable[bytes]) -> Iterator[Outcome]:
    """(row number, product or rejection) of every non-blank line of an NDJSON body."""
    row = 0
    first = True
    for line in byte_lines(chunks):
        if first:
            line = line.removeprefix(codecs.BOM_UTF8)
            first = False
        if not line.strip(b" \t\r"):
            continue
        row += 1
        yield row, json_record(line)


def json_record(line: bytes) -> Product | Rejected:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return Rejected("invalid_encoding")
    try:
        obj = load_json(text)
    except ValueError:
        return Rejected("malformed_row")
    try:
        return from_object(obj)
    except Rejected as rejected:
        return rejected


def array_records(items: list[Any]) -> Iterator[Outcome]:
    """(row number, product or rejection) of every element of a JSON array body."""
    for row, item in enumerate(items, start=1):
        try:
            yield row, from_object(item)
        except Rejected as rejected:
            yield row, rejected
