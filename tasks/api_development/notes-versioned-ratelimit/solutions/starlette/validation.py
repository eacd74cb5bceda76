"""Hand-written input validation: every check raises InvalidInput with a readable message."""

import json
import re
from collections.abc import Mapping
from typing import Any

TITLE_LENGTH = (1, 200)
TEXT_LENGTH = (0, 10_000)
TAG_LENGTH = (1, 50)
MAX_TAGS = 20

_INTEGER = re.compile(r"[+-]?[0-9]+")


class InvalidInput(Exception):
    """The request is well-formed HTTP but its content breaks the contract (422)."""


def json_object(raw: bytes) -> dict[str, Any]:
    """Decode a request body that must be a JSON object."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput("the request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise InvalidInput("the request body must be a JSON object")
    return data


def required_string(data: Mapping[str, Any], name: str, length: tuple[int, int]) -> str:
    """A field that must be present and be a string of the given length range."""
    if name not in data:
        raise InvalidInput(f"'{name}' is required")
    return string_value(data[name], name, length)


def optional_tags(data: Mapping[str, Any]) -> list[str]:
    """The optional v2 tag list, [] when absent."""
    tags = data.get("tags", [])
    if not isinstance(tags, list):
        raise InvalidInput("'tags' must be an array of strings")
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags are allowed")
    return [string_value(tag, f"tags[{i}]", TAG_LENGTH) for i, tag in enumerate(tags)]


def string_value(value: Any, name: str, length: tuple[int, int]) -> str:
    """Check that a value is a storable string of the given length range."""
    if not isinstance(value, str):
        raise InvalidInput(f"'{name}' must be a string")
    low, high = length
    if not low <= len(value) <= high:
        raise InvalidInput(f"'{name}' must be {low} to {high} characters long")
    if "\x00" in value or not _is_valid_unicode(value):
        raise InvalidInput(f"'{name}' contains a character that cannot be stored")
    return value


def integer_param(
    params: Mapping[str, str], name: str, default: int, low: int, high: int | None
) -> int:
    """An optional integer query parameter within [low, high] (no upper bound if high is None)."""
    raw = params.get(name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw):
        raise InvalidInput(f"query parameter '{name}' must be an integer")
    value = int(raw)
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidInput(f"query parameter '{name}' must be {bound}")
    return value


def _is_valid_unicode(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates such as "\ud800" from a JSON escape
        return False
    return True
