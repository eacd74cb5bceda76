"""Request validation: pydantic models for bodies, strict parsers for query strings."""

from __future__ import annotations

import re
from typing import Annotated

from flask import request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .errors import ValidationError

_INTEGER = re.compile(r"-?[0-9]{1,30}")
BIGINT_MAX = 2**63 - 1


def _text(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded as UTF-8.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as ex:
        raise ValueError("must be valid Unicode text") from ex
    return value


Title = Annotated[str, Field(strict=True, min_length=1, max_length=200), AfterValidator(_text)]
Text = Annotated[str, Field(strict=True, max_length=10_000), AfterValidator(_text)]
Tag = Annotated[str, Field(strict=True, min_length=1, max_length=50), AfterValidator(_text)]


class NoteV1In(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: Title
    body: Text


class NoteV2In(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: Title
    content: Text
    tags: Annotated[list[Tag], Field(strict=True, max_length=20)] = []


def int_param(name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw):
        raise ValidationError(f"{name} must be an integer.")
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ValidationError(f"{name} must be {bounds}.")
    return value


def text_param(name: str) -> str | None:
    raw = request.args.get(name)
    if raw is not None and "\x00" in raw:
        raise ValidationError(f"{name} must not contain NUL characters.")
    return raw


def parse_note_id(raw: str) -> int | None:
    """A note id from the path; None when it is an integer that cannot name a note."""
    if not _INTEGER.fullmatch(raw):
        raise ValidationError("The note id must be an integer.")
    value = int(raw)
    return value if 0 < value <= BIGINT_MAX else None
