"""Document uploads on Flask + gunicorn: multipart or JSON text in, attachments out."""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import unicodedata
import uuid
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, jsonify, request
from storage import Store
from werkzeug.exceptions import HTTPException
from werkzeug.formparser import parse_form_data

FILE_LIMIT = 1 << 20
BODY_LIMIT = 2 << 20
ACCEPTED = {"image/png", "application/pdf", "text/plain"}
UUID_FORM = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", re.IGNORECASE)
RFC5987_SAFE = "!#$&+-.^_`|~"

app = Flask(__name__)
store = Store(os.environ["DATABASE_URL"])


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


@app.errorhandler(Refused)
def refused(exc: Refused) -> tuple[Response, int]:
    return jsonify(error={"code": exc.code, "message": str(exc)}), exc.status


@app.errorhandler(HTTPException)
def http_exception(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
    codes = {401: "unauthorized", 404: "not_found", 413: "payload_too_large",
             415: "unsupported_media_type"}  # fmt: skip
    return jsonify(error={"code": codes.get(status, "validation_error"),
                          "message": exc.description or "refused"}), status  # fmt: skip


@app.errorhandler(Exception)
def unexpected(exc: Exception) -> tuple[Response, int]:
    app.logger.error("unexpected %s", type(exc).__name__)
    return jsonify(error={"code": "internal_error", "message": "internal error"}), 500


@app.before_request
def require_token() -> None:
    if not request.path.startswith("/v1/"):
        return
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(
        token.encode(), os.environ["APP_SECRET"].encode()
    ):
        raise Refused(401, "unauthorized", "missing or wrong bearer token")


def media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def bounded_body() -> bytes:
    """The request body, at most BODY_LIMIT bytes (413 past it), chunked or not."""
    if (request.content_length or 0) > BODY_LIMIT:
        raise Refused(413, "payload_too_large", "request body over 2 MiB")
    stream, data = request.stream, bytearray()
    while chunk := stream.read(65536):
        data += chunk
        if len(data) > BODY_LIMIT:
            raise Refused(413, "payload_too_large", "request body over 2 MiB")
    return bytes(data)


def kind_of(content: bytes) -> str | None:
    if content[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if content[:5] == b"%PDF-":
        return "application/pdf"
    if 0 in content:
        return None
    try:
        content.decode("utf-8", "strict")
    except UnicodeDecodeError:
        return None
    return "text/plain"


def clean_name(raw: str) -> str:
    name = raw.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    bad = (
        not name or len(name) > 255 or name in {".", ".."}
        or any(ord(c) < 0x20 or ord(c) == 0x7F or unicodedata.category(c) == "Cs" for c in name)
    )  # fmt: skip
    if bad:
        raise Refused(422, "validation_error", "file name refused")
    return name


def the_file(body: bytes) -> tuple[str, bytes, str]:
    _, _, params = request.headers.get("Content-Type", "").partition(";")
    environ = {
        "REQUEST_METHOD": "POST", "CONTENT_TYPE": f"multipart/form-data;{params}",
        "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
    }  # fmt: skip
    try:
        _, form, files = parse_form_data(environ, max_form_memory_size=BODY_LIMIT + 1,
                                         silent=False)  # fmt: skip
    except Exception as exc:
        raise Refused(422, "validation_error", "malformed multipart body") from exc
    named = files.getlist("file")
    if len(named) != 1 or form.getlist("file") or named[0].filename is None:
        raise Refused(422, "validation_error", "exactly one file part named file is needed")
    part = named[0]
    return part.filename or "", part.stream.read(), part.content_type or ""


def text_create(body: bytes) -> tuple[str, bytes]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise Refused(422, "validation_error", "body is not JSON") from exc
    if not (isinstance(data, dict) and isinstance(data.get("filename"), str)
            and isinstance(data.get("text"), str)):  # fmt: skip
        raise Refused(422, "validation_error", "filename and text must be strings")
    try:
        content = data["text"].encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Refused(422, "validation_error", "text is not encodable") from exc
    if len(content) > FILE_LIMIT:
        raise Refused(413, "payload_too_large", "text over 1 MiB")
    if not content or 0 in content:
        raise Refused(422, "validation_error", "text is empty or holds U+0000")
    return data["filename"], content


def public(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(doc["id"]), "filename": doc["filename"],
            "content_type": doc["content_type"], "size": doc["size"], "sha256": doc["sha256"],
            "created_at": doc["created_at"].isoformat()}  # fmt: skip


def parse_id(value: str) -> uuid.UUID:
    if len(value) != 36 or not UUID_FORM.fullmatch(value):
        raise Refused(404, "not_found", "no such document")
    return uuid.UUID(value)


def existing(value: str) -> dict[str, Any]:
    doc = store.get(parse_id(value))
    if doc is None:
        raise Refused(404, "not_found", "no such document")
    return doc


@app.get("/health")
def health() -> Response:
    return jsonify(status="ok")


@app.post("/v1/documents")
def create() -> tuple[Response, int]:
    kind = media_type(request.headers.get("Content-Type"))
    if kind not in {"multipart/form-data", "application/json"}:
        raise Refused(415, "unsupported_media_type", "multipart/form-data or application/json")
    body = bounded_body()
    if kind == "application/json":
        raw_name, content = text_create(body)
        found = "text/plain"
        name = clean_name(raw_name)
    else:
        raw_name, content, declared = the_file(body)
        if len(content) > FILE_LIMIT:
            raise Refused(413, "payload_too_large", "file over 1 MiB")
        if not content:
            raise Refused(422, "validation_error", "empty file")
        name = clean_name(raw_name)
        found = kind_of(content)
        if media_type(declared) not in ACCEPTED or found != media_type(declared):
            raise Refused(415, "unsupported_media_type", "type refused or not matching")
    return jsonify(public(store.add(name, str(found), content))), 201


@app.get("/v1/documents/<doc_id>")
def read(doc_id: str) -> Response:
    return jsonify(public(existing(doc_id)))


@app.patch("/v1/documents/<doc_id>")
def rename(doc_id: str) -> Response:
    ident = existing(doc_id)["id"]
    try:
        data = json.loads(bounded_body().decode("utf-8"))
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("filename"), str):
        raise Refused(422, "validation_error", "filename must be a string")
    doc = store.rename(ident, clean_name(data["filename"]))
    if doc is None:
        raise Refused(404, "not_found", "no such document")
    return jsonify(public(doc))


@app.delete("/v1/documents/<doc_id>")
def delete(doc_id: str) -> tuple[str, int]:
    if not store.remove(parse_id(doc_id)):
        raise Refused(404, "not_found", "no such document")
    return "", 204


def disposition(name: str) -> str:
    ascii_name = "".join("_" if c in '"\\' or not 0x20 <= ord(c) <= 0x7E else c for c in name)
    return (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe=RFC5987_SAFE)}"
    )


@app.get("/v1/documents/<doc_id>/content")
def download(doc_id: str) -> Response:
    doc = existing(doc_id)
    content = store.path(doc["stored_name"]).read_bytes()
    mimetype = (
        "text/plain; charset=utf-8" if doc["content_type"] == "text/plain" else doc["content_type"]
    )
    response = Response(content, status=200, content_type=mimetype)
    response.headers["Content-Disposition"] = disposition(doc["filename"])
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
