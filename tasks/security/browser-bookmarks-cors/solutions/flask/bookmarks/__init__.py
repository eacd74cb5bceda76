"""Bookmarks API built with Flask; the CORS policy lives in request hooks."""

from __future__ import annotations

import hmac
import json
import os
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from .store import Store

ORIGINS = ("https://app.example.com", "https://admin.example.com")
PREFLIGHT_METHODS = ("GET", "POST", "DELETE")
PREFLIGHT_HEADERS = ("Authorization", "Content-Type")
BIGINT_MAX = 9223372036854775807
CODES = {401: "unauthorized", 403: "cors_rejected", 404: "not_found",
         405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
         422: "validation_error"}  # fmt: skip


class Refused(Exception):
    """A request answered with the error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def failure(status: int, message: str) -> Response:
    response = jsonify(error={"code": CODES.get(status, "error"), "message": message})
    response.status_code = status
    return response


def as_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "url": row["url"], "title": row["title"],
            "created_at": row["created_at"].isoformat()}  # fmt: skip


def path_id(raw: str) -> int:
    if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= BIGINT_MAX:
        return int(raw)
    raise Refused(404, "no bookmark with that id")


def text_field(body: dict[str, Any], name: str, most: int) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise Refused(422, f"{name} must be a string")
    if not 1 <= len(value) <= most:
        raise Refused(422, f"{name} must be 1 to {most} characters")
    if "\x00" in value:
        raise Refused(422, f"{name} must not contain NUL")
    return value


def json_object() -> dict[str, Any]:
    try:
        body = json.loads(request.get_data().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Refused(422, "the body is not UTF-8 JSON") from exc
    if not isinstance(body, dict):
        raise Refused(422, "the body must be a JSON object")
    return body


def answer_options(origin: str | None) -> Response:
    """An OPTIONS request: a preflight accepted (204) or refused (403), or not one (405)."""
    wanted = request.headers.get("Access-Control-Request-Method")
    if origin is None or wanted is None:
        return failure(405, "OPTIONS is only answered as a CORS preflight")
    asked = request.headers.get("Access-Control-Request-Headers", "")
    names = [n.strip().lower() for n in asked.split(",") if n.strip()]
    allowed_names = {h.lower() for h in PREFLIGHT_HEADERS}
    if (
        g.cors_origin is None
        or wanted not in PREFLIGHT_METHODS
        or any(n not in allowed_names for n in names)
    ):
        g.cors_origin = None  # a refusal carries no Access-Control-* header
        return failure(403, "preflight refused")
    g.preflight = True
    return Response(status=204)


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    store = Store(os.environ["DATABASE_URL"])
    secret = os.environ.get("APP_SECRET", "")

    @app.before_request
    def preflight_and_auth() -> Response | None:
        origin = request.headers.get("Origin")
        g.cors_origin = origin if origin in ORIGINS else None
        if request.method == "OPTIONS":
            return answer_options(origin)
        if request.method in ("POST", "DELETE") and request.path.startswith("/v1/"):
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if not (secret and scheme.lower() == "bearer"
                    and hmac.compare_digest(token.encode(), secret.encode())):  # fmt: skip
                return failure(401, "a valid bearer token is required")
        return None

    @app.after_request
    def cors_headers(response: Response) -> Response:
        response.vary.add("Origin")
        origin = g.get("cors_origin")
        if origin:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
            if g.get("preflight"):
                response.headers["Access-Control-Allow-Methods"] = ", ".join(PREFLIGHT_METHODS)
                response.headers["Access-Control-Allow-Headers"] = ", ".join(PREFLIGHT_HEADERS)
                response.headers["Access-Control-Max-Age"] = "600"
            else:
                response.headers["Access-Control-Expose-Headers"] = "Location"
        return response

    @app.errorhandler(Refused)
    def refused(exc: Refused) -> Response:
        return failure(exc.status, str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return failure(exc.code or 500, exc.description or "error")

    @app.get("/health")
    def health() -> Response:
        return jsonify(status="ok")

    @app.get("/v1/bookmarks")
    def newest() -> Response:
        raw = request.args.get("limit", "20")
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 100):
            raise Refused(422, "limit must be an integer from 1 to 100")
        return jsonify(items=[as_json(r) for r in store.newest(int(raw))])

    @app.post("/v1/bookmarks")
    def create() -> tuple[Response, int, dict[str, str]]:
        body = json_object()
        url = text_field(body, "url", 2048)
        if not url.startswith(("http://", "https://")):
            raise Refused(422, "url must start with http:// or https://")
        title = text_field(body, "title", 200)
        row = store.add(url, title)
        return jsonify(as_json(row)), 201, {"Location": f"/v1/bookmarks/{row['id']}"}

    @app.get("/v1/bookmarks/<raw>")
    def read(raw: str) -> Response:
        row = store.get(path_id(raw))
        if row is None:
            raise Refused(404, "no bookmark with that id")
        return jsonify(as_json(row))

    @app.delete("/v1/bookmarks/<raw>")
    def delete(raw: str) -> Response:
        if not store.remove(path_id(raw)):
            raise Refused(404, "no bookmark with that id")
        return Response(status=204)

    return app
