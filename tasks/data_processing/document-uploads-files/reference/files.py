"""The rules of a document's bytes and name: its type, its file name, its download header."""

from __future__ import annotations

import re
from urllib.parse import quote

MAX_FILE = 1_048_576
MAX_BODY = 2_097_152
TYPES = ("image/png", "application/pdf", "text/plain")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# RFC 5987 attr-chars besides letters and digits (quote() never escapes "_.-~")
ATTR_CHARS = "!#$&+-.^_`|~"


def detected_type(content: bytes) -> str | None:
    """The accepted type the bytes are of, judged in the prompt's order; None for none."""
    if content.startswith(PNG_SIGNATURE):
        return "image/png"
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if b"\x00" in content:
        return None
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text/plain"


def declared_type(value: str | None) -> str | None:
    """The media type of a part's Content-Type, lower-cased, parameters dropped."""
    if not value:
        return None
    return value.split(";", 1)[0].strip().lower()


def document_name(given: str) -> str | None:
    """The document's filename made from the client's name, or None when it is refused."""
    name = re.split(r"[/\\]", given)[-1]
    if not 1 <= len(name) <= 255 or name in (".", "..") or CONTROL.search(name):
        return None
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return name


def content_disposition(name: str) -> str:
    """attachment; filename="<fallback>"; filename*=UTF-8''<encoded>."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in name)
    encoded = quote(name.encode("utf-8"), safe=ATTR_CHARS)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def served_type(content_type: str) -> str:
    return "text/plain; charset=utf-8" if content_type == "text/plain" else content_type
