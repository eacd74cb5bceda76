"""Projects API in Flask over SQLAlchemy Core; the database's refusals become 409 / 422."""

import datetime
import hmac
import json
import os
import re
from typing import Any

import psycopg.errors
from flask import Flask, Response, jsonify, request
from sqlalchemy import and_, create_engine, delete, func, insert, select, true, update
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from schema import database_url, members, organisations, projects, task_assignments, tasks

MAX_ID = 2**63 - 1
MAX_BODY = 1024 * 1024
STATUSES = ("todo", "in_progress", "done")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
INT_RE = re.compile(r"-?[0-9]{1,25}")
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+")
MISSING = object()

engine = create_engine(database_url(), pool_size=8, max_overflow=4, pool_pre_ping=True)
app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = MAX_BODY


class Refused(Exception):
    """An answer {"error": {"code", "message"}} with a status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


@app.errorhandler(Refused)
def on_refused(exc: Refused) -> Response:
    return error(exc.status, exc.code, exc.message)


@app.errorhandler(HTTPException)
def on_http_error(exc: HTTPException) -> Response:
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    return error(exc.code or 500, code.get(exc.code or 500, "http_error"), exc.description or "")


@app.errorhandler(Exception)
def on_crash(_exc: Exception) -> Response:
    return error(500, "internal_error", "internal error")


@app.before_request
def require_token_on_writes() -> Response | None:
    """Writes need the bearer APP_SECRET, checked before anything else."""
    if request.method in ("POST", "PATCH", "PUT", "DELETE"):
        secret = os.environ.get("APP_SECRET", "")
        given = request.headers.get("Authorization", "")
        if not secret or not hmac.compare_digest(given.encode(), f"Bearer {secret}".encode()):
            return error(401, "unauthorized", "missing or invalid bearer token")
    return None


# -- input ------------------------------------------------------------------------------------


def invalid(message: str) -> Refused:
    return Refused(422, "validation_error", message)


def json_body() -> dict[str, Any]:
    """The body as a JSON object, whatever its Content-Type."""
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw)
    except Exception as exc:  # bad JSON, bad UTF-8, nesting too deep
        raise invalid("the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object")
    return body


def text_field(body: dict[str, Any], key: str, max_len: int = 200, blank_ok: bool = False) -> str:
    value = body.get(key, MISSING)
    if not isinstance(value, str):
        raise invalid(f"{key}: a string is required")
    if not 1 <= len(value) <= max_len or (not blank_ok and not value.strip()):
        raise invalid(f"{key}: 1 to {max_len} characters, not blank")
    if "\x00" in value:
        raise invalid(f"{key}: must not contain NUL")
    return value


def int_field(value: Any, key: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise invalid(f"{key}: an integer from {low} to {high} is required")
    return value


def ref_field(body: dict[str, Any], key: str) -> int:
    return int_field(body.get(key, MISSING), key, 1, MAX_ID)


def date_field(value: Any, key: str) -> datetime.date | None:
    if value is None:
        return None
    if not isinstance(value, str) or not DATE_RE.fullmatch(value):
        raise invalid(f"{key}: a date YYYY-MM-DD or null is required")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise invalid(f"{key}: not a real day") from exc


def status_field(value: Any) -> str:
    if value not in STATUSES or not isinstance(value, str):
        raise invalid("status: one of todo, in_progress, done")
    return value


def task_fields(body: dict[str, Any], partial: bool) -> dict[str, Any]:
    """The task fields present in `body`, checked; on create the defaults fill the rest."""
    out: dict[str, Any] = {}
    if "title" in body or not partial:
        out["title"] = text_field(body, "title")
    if "status" in body or not partial:
        out["status"] = status_field(body.get("status", "todo"))
    if "estimate_hours" in body or not partial:
        value = body.get("estimate_hours")
        out["estimate_hours"] = None if value is None else int_field(value, "estimate_hours", 0, 10000)
    for key in ("start_date", "due_date"):
        if key in body or not partial:
            out[key] = date_field(body.get(key), key)
    return out


def path_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_ID:
        raise Refused(404, "not_found", "no such resource")
    return int(raw)


def query_int(name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not INT_RE.fullmatch(raw) or not low <= int(raw) <= high:
        raise invalid(f"{name}: an integer from {low} to {high} is required")
    return int(raw)


def paging() -> tuple[int, int]:
    return query_int("limit", 50, 1, 100) or 50, query_int("offset", 0, 0, MAX_ID) or 0


def violation(exc: IntegrityError) -> type:
    return type(exc.orig)


# -- output -----------------------------------------------------------------------------------


def task_json(row: Any, assignees: list[int]) -> dict[str, Any]:
    return {
        "id": row.id,
        "project_id": row.project_id,
        "title": row.title,
        "status": row.status,
        "estimate_hours": row.estimate_hours,
        "start_date": row.start_date.isoformat() if row.start_date else None,
        "due_date": row.due_date.isoformat() if row.due_date else None,
        "assignee_ids": assignees,
    }


def with_assignees(conn: Any, rows: list[Any]) -> list[dict[str, Any]]:
    ids = [row.id for row in rows]
    found: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        links = conn.execute(
            select(task_assignments.c.task_id, task_assignments.c.member_id)
            .where(task_assignments.c.task_id.in_(ids))
            .order_by(task_assignments.c.member_id)
        )
        for task_id, member_id in links:
            found[task_id].append(member_id)
    return [task_json(row, found[row.id]) for row in rows]


def one_task(conn: Any, task_id: int) -> dict[str, Any]:
    row = conn.execute(select(tasks).where(tasks.c.id == task_id)).first()
    if row is None:
        raise Refused(404, "not_found", "task not found")
    return with_assignees(conn, [row])[0]


def page(conn: Any, table: Any, condition: Any) -> dict[str, Any]:
    limit, offset = paging()
    total = conn.execute(select(func.count()).select_from(table).where(condition)).scalar_one()
    rows = conn.execute(
        select(table).where(condition).order_by(table.c.id).limit(limit).offset(offset)
    ).all()
    return {"rows": rows, "total": total}


def plain(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


# -- routes -----------------------------------------------------------------------------------


@app.get("/health")
def health() -> Any:
    return {"status": "ok"}


@app.post("/organisations")
def create_organisation() -> Any:
    name = text_field(json_body(), "name")
    with engine.begin() as conn:
        row = conn.execute(insert(organisations).values(name=name).returning(organisations)).one()
    return plain(row), 201


@app.get("/organisations")
def list_organisations() -> Any:
    name = request.args.get("name", "")
    if len(name) > 200 or "\x00" in name:
        raise invalid("name: at most 200 characters")
    condition = func.strpos(func.lower(organisations.c.name), func.lower(name)) > 0 if name else true()
    with engine.connect() as conn:
        found = page(conn, organisations, condition)
    return {"items": [plain(r) for r in found["rows"]], "total": found["total"]}


@app.get("/organisations/<raw>")
def get_organisation(raw: str) -> Any:
    with engine.connect() as conn:
        row = conn.execute(select(organisations).where(organisations.c.id == path_id(raw))).first()
    if row is None:
        raise Refused(404, "not_found", "organisation not found")
    return plain(row)


@app.delete("/organisations/<raw>")
def delete_organisation(raw: str) -> Any:
    oid = path_id(raw)
    try:
        with engine.begin() as conn:
            gone = conn.execute(delete(organisations).where(organisations.c.id == oid)).rowcount
    except IntegrityError as exc:
        if violation(exc) is psycopg.errors.ForeignKeyViolation:
            raise Refused(409, "conflict", "the organisation still has projects") from exc
        raise
    if not gone:
        raise Refused(404, "not_found", "organisation not found")
    return "", 204


@app.post("/projects")
def create_project() -> Any:
    body = json_body()
    org_id, name = ref_field(body, "organisation_id"), text_field(body, "name")
    try:
        with engine.begin() as conn:
            row = conn.execute(
                insert(projects).values(organisation_id=org_id, name=name).returning(projects)
            ).one()
    except IntegrityError as exc:
        if violation(exc) is psycopg.errors.UniqueViolation:
            raise Refused(409, "conflict", "the organisation has a project of this name") from exc
        if violation(exc) is psycopg.errors.ForeignKeyViolation:
            raise invalid("organisation_id: no such organisation") from exc
        raise
    return plain(row), 201


@app.get("/projects")
def list_projects() -> Any:
    org_id = query_int("organisation_id", None, 1, MAX_ID)
    condition = projects.c.organisation_id == org_id if org_id is not None else true()
    with engine.connect() as conn:
        found = page(conn, projects, condition)
    return {"items": [plain(r) for r in found["rows"]], "total": found["total"]}


@app.get("/projects/<raw>")
def get_project(raw: str) -> Any:
    with engine.connect() as conn:
        row = conn.execute(select(projects).where(projects.c.id == path_id(raw))).first()
    if row is None:
        raise Refused(404, "not_found", "project not found")
    return plain(row)


@app.delete("/projects/<raw>")
def delete_project(raw: str) -> Any:
    pid = path_id(raw)
    with engine.begin() as conn:  # ON DELETE CASCADE takes the tasks and assignments
        gone = conn.execute(delete(projects).where(projects.c.id == pid)).rowcount
    if not gone:
        raise Refused(404, "not_found", "project not found")
    return "", 204


@app.post("/members")
def create_member() -> Any:
    body = json_body()
    email = text_field(body, "email", max_len=254, blank_ok=True)
    if not EMAIL_RE.fullmatch(email):
        raise invalid("email: exactly one @ with text on both sides, no whitespace")
    name = text_field(body, "name")
    try:
        with engine.begin() as conn:
            row = conn.execute(insert(members).values(email=email, name=name).returning(members)).one()
    except IntegrityError as exc:
        if violation(exc) is psycopg.errors.UniqueViolation:
            raise Refused(409, "conflict", "a member has this email") from exc
        raise
    return plain(row), 201


@app.post("/tasks")
def create_task() -> Any:
    body = json_body()
    project_id = ref_field(body, "project_id")
    fields = task_fields(body, partial=False)
    try:
        with engine.begin() as conn:
            row = conn.execute(
                insert(tasks).values(project_id=project_id, **fields).returning(tasks)
            ).one()
    except IntegrityError as exc:
        if violation(exc) is psycopg.errors.ForeignKeyViolation:
            raise invalid("project_id: no such project") from exc
        if violation(exc) is psycopg.errors.CheckViolation:
            raise invalid("due_date must not be before start_date") from exc
        raise
    return task_json(row, []), 201


@app.get("/tasks")
def list_tasks() -> Any:
    project_id = query_int("project_id", None, 1, MAX_ID)
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        raise invalid("status: one of todo, in_progress, done")
    condition = and_(
        tasks.c.project_id == project_id if project_id is not None else true(),
        tasks.c.status == status if status is not None else true(),
    )
    with engine.connect() as conn:
        found = page(conn, tasks, condition)
        items = with_assignees(conn, found["rows"])
    return {"items": items, "total": found["total"]}


@app.get("/tasks/<raw>")
def get_task(raw: str) -> Any:
    with engine.connect() as conn:
        return one_task(conn, path_id(raw))


@app.patch("/tasks/<raw>")
def patch_task(raw: str) -> Any:
    fields = task_fields(json_body(), partial=True)
    if not fields:
        raise invalid("the body changes no field")
    task_id = path_id(raw)
    try:
        with engine.begin() as conn:
            if conn.execute(update(tasks).where(tasks.c.id == task_id).values(**fields)).rowcount == 0:
                raise Refused(404, "not_found", "task not found")
            return one_task(conn, task_id)
    except IntegrityError as exc:
        if violation(exc) is psycopg.errors.CheckViolation:
            raise invalid("due_date must not be before start_date") from exc
        raise


@app.post("/tasks/<raw>/assignees")
def assign(raw: str) -> Any:
    member_id = ref_field(json_body(), "member_id")
    task_id = path_id(raw)
    try:
        with engine.begin() as conn:
            found = conn.execute(
                select(tasks.c.id).where(tasks.c.id == task_id).with_for_update(key_share=True)
            ).first()
            if found is None:
                raise Refused(404, "not_found", "task not found")
            conn.execute(insert(task_assignments).values(task_id=task_id, member_id=member_id))
            return one_task(conn, task_id), 201
    except IntegrityError as exc:
        if violation(exc) is psycopg.errors.UniqueViolation:
            raise Refused(409, "conflict", "the member is already assigned") from exc
        if violation(exc) is psycopg.errors.ForeignKeyViolation:
            raise invalid("member_id: no such member") from exc
        raise

