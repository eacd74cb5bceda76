"""The two versions of the notes endpoints."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from . import store
from .errors import NotFound, ValidationError
from .schemas import BIGINT_MAX, NoteV1In, NoteV2In, int_param, parse_note_id, text_param

v1 = Blueprint("v1", __name__, url_prefix="/v1")
v2 = Blueprint("v2", __name__, url_prefix="/v2")

ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_body(model: type[ModelT]) -> ModelT:
    """Validate the JSON object in the request body against `model`."""
    try:
        data = json.loads(request.get_data())
    except (ValueError, RecursionError):
        raise ValidationError("The body must be valid JSON.") from None
    if not isinstance(data, dict):
        raise ValidationError("The body must be a JSON object.")
    try:
        return model.model_validate(data)
    except PydanticValidationError as ex:
        first = ex.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ValidationError(f"{where}: {first['msg']}") from None


def paging() -> tuple[str | None, int, int]:
    """The `q`, `limit` and `offset` query parameters shared by both list endpoints."""
    limit = int_param("limit", 20, 1, 100)
    offset = int_param("offset", 0, 0)
    return text_param("q"), limit, offset


def find_note(raw_id: str) -> store.Note:
    key = parse_note_id(raw_id)
    note = store.get(key) if key is not None else None
    if note is None:
        raise NotFound("No note with that id.")
    return note


def notes_page(q: str | None, limit: int, offset: int) -> list[store.Note]:
    return store.page(q, limit, offset) if offset <= BIGINT_MAX else []


@v1.post("/notes")
def create_note_v1() -> tuple[Response, int]:
    note_in = parse_body(NoteV1In)
    note = store.create(note_in.title, note_in.body, [])
    return jsonify(note.v1()), 201


@v1.get("/notes")
def list_notes_v1() -> Response:
    return jsonify([note.v1() for note in notes_page(*paging())])


@v1.get("/notes/<note_id>")
def get_note_v1(note_id: str) -> dict[str, Any]:
    return find_note(note_id).v1()


@v2.post("/notes")
def create_note_v2() -> tuple[Response, int]:
    note_in = parse_body(NoteV2In)
    note = store.create(note_in.title, note_in.content, note_in.tags)
    return jsonify(note.v2()), 201


@v2.get("/notes")
def list_notes_v2() -> dict[str, Any]:
    q, limit, offset = paging()
    notes = notes_page(q, limit, offset)
    return {"data": [note.v2() for note in notes], "meta": {"total": store.count(q), "limit": limit, "offset": offset}}


@v2.get("/notes/<note_id>")
def get_note_v2(note_id: str) -> dict[str, Any]:
    return find_note(note_id).v2()
