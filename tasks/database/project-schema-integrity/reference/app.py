"""Projects API: organisations, projects, tasks and members, with the database keeping the rules."""

import hmac
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any

import psycopg
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from pydantic import AfterValidator, BaseModel, Field, StrictInt, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

SCHEMA = """
CREATE TABLE IF NOT EXISTS organisations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS projects (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id) ON DELETE RESTRICT,
    name TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS projects_organisation_name_key
    ON projects (organisation_id, lower(name));
CREATE TABLE IF NOT EXISTS members (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email TEXT NOT NULL,
    name TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS members_email_key ON members (lower(email));
CREATE TABLE IF NOT EXISTS tasks (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'todo'
        CONSTRAINT tasks_status_check CHECK (status IN ('todo', 'in_progress', 'done')),
    estimate_hours INTEGER CONSTRAINT tasks_estimate_check CHECK (estimate_hours >= 0),
    start_date DATE,
    due_date DATE,
    CONSTRAINT tasks_dates_check CHECK (due_date >= start_date)
);
CREATE INDEX IF NOT EXISTS tasks_project ON tasks (project_id);
CREATE TABLE IF NOT EXISTS task_assignments (
    task_id BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    member_id BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, member_id)
);
CREATE INDEX IF NOT EXISTS task_assignments_member ON task_assignments (member_id);
"""

MAX_ID = 2**63 - 1
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+")
STATUSES = ("todo", "in_progress", "done")
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}

pool = ConnectionPool(
    conninfo=os.environ.get("DATABASE_URL", ""),
    min_size=2,
    max_size=12,
    open=False,
    kwargs={"row_factory": dict_row},
)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """Open the pool and create the schema before serving; close the pool after."""
    pool.open(wait=True)
    with pool.connection() as conn:
        conn.execute(SCHEMA)
    yield
    pool.close()


app = FastAPI(title="Projects API", lifespan=lifespan)


class ApiError(Exception):
    """An error answered as {"error": {"code", "message"}} with the given status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_body(status: int, code: str, message: str) -> JSONResponse:
    """Build the shared error body."""
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


@app.exception_handler(ApiError)
async def handle_api_error(_request: Request, exc: ApiError) -> JSONResponse:
    """Answer an ApiError with its status and code."""
    return error_body(exc.status, exc.code, exc.message)


@app.exception_handler(RequestValidationError)
async def handle_validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """Answer every request validation failure as 422 validation_error."""
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    return error_body(422, "validation_error", f"{where}: {first.get('msg', 'invalid request')}")


@app.exception_handler(StarletteHTTPException)
async def handle_http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Answer routing errors (unknown path, wrong method) with the shared body."""
    if exc.status_code == 400:
        # a body the framework cannot even decode (not UTF-8) is invalid input: 422
        return error_body(422, "validation_error", str(exc.detail))
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_body(exc.status_code, code, str(exc.detail))


@app.middleware("http")
async def require_bearer_token_on_writes(request: Request, call_next: Any) -> Response:
    """Refuse every write that lacks the bearer APP_SECRET; reads are open."""
    if request.method in WRITE_METHODS:
        secret = os.environ.get("APP_SECRET", "")
        given = request.headers.get("authorization", "")
        expected = f"Bearer {secret}"
        if not secret or not hmac.compare_digest(given.encode(), expected.encode()):
            return error_body(401, "unauthorized", "missing or invalid bearer token")
    return await call_next(request)


def parse_id(raw: str) -> int:
    """Turn a path id into an int; anything that cannot name a row is 404."""
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1 or int(raw) > MAX_ID:
        raise ApiError(404, "not_found", "no such resource")
    return int(raw)


def _no_nul(value: str) -> str:
    """Refuse text PostgreSQL cannot store."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _not_blank(value: str) -> str:
    """Refuse text made only of whitespace."""
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _a_date(value: str | None) -> str | None:
    """Accept only YYYY-MM-DD naming a real calendar day."""
    if value is None:
        return None
    if not DATE_RE.fullmatch(value):
        raise ValueError("must be a date YYYY-MM-DD")
    date.fromisoformat(value)
    return value


def _an_email(value: str) -> str:
    """Exactly one @ with text on both sides and no whitespace."""
    if not EMAIL_RE.fullmatch(value):
        raise ValueError("must look like local@domain")
    return value


Name = Annotated[
    StrictStr, Field(min_length=1, max_length=200), AfterValidator(_not_blank), AfterValidator(_no_nul)
]
RefId = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
Estimate = Annotated[StrictInt, Field(ge=0, le=10_000)]
DateText = Annotated[StrictStr | None, AfterValidator(_a_date)]
Status = Annotated[StrictStr, AfterValidator(lambda v: _one_of(v, STATUSES))]


def _one_of(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}")
    return value


class OrganisationIn(BaseModel):
    """Body of POST /organisations."""

    name: Name


class ProjectIn(BaseModel):
    """Body of POST /projects."""

    organisation_id: RefId
    name: Name


class MemberIn(BaseModel):
    """Body of POST /members."""

    email: Annotated[
        StrictStr, Field(max_length=254), AfterValidator(_no_nul), AfterValidator(_an_email)
    ]
    name: Name


class TaskIn(BaseModel):
    """Body of POST /tasks."""

    project_id: RefId
    title: Name
    status: Status = "todo"
    estimate_hours: Estimate | None = None
    start_date: DateText = None
    due_date: DateText = None


class TaskPatch(BaseModel):
    """Body of PATCH /tasks/{id}: only the fields sent change."""

    title: Name = "unused"
    status: Status = "todo"
    estimate_hours: Estimate | None = None
    start_date: DateText = None
    due_date: DateText = None


class AssigneeIn(BaseModel):
    """Body of POST /tasks/{id}/assignees."""

    member_id: RefId


Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0)]
NameFilter = Annotated[str | None, Query(max_length=200), AfterValidator(lambda v: v and _no_nul(v))]


def task_out(row: dict[str, Any], assignees: list[int]) -> dict[str, Any]:
    """Shape a task row for JSON."""
    return {
        "id": row["id"],
        "project_id": row["project_id"],
        "title": row["title"],
        "status": row["status"],
        "estimate_hours": row["estimate_hours"],
        "start_date": row["start_date"].isoformat() if row["start_date"] else None,
        "due_date": row["due_date"].isoformat() if row["due_date"] else None,
        "assignee_ids": assignees,
    }


TASK_COLUMNS = "id, project_id, title, status, estimate_hours, start_date, due_date"


def load_tasks(conn: psycopg.Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Attach the assignee ids (ascending) to the given task rows, keeping the rows' order."""
    if not rows:
        return []
    links = conn.execute(
        "SELECT task_id, member_id FROM task_assignments WHERE task_id = ANY(%s)"
        " ORDER BY member_id",
        ([row["id"] for row in rows],),
    ).fetchall()
    by_task: dict[int, list[int]] = {row["id"]: [] for row in rows}
    for link in links:
        by_task[link["task_id"]].append(link["member_id"])
    return [task_out(row, by_task[row["id"]]) for row in rows]


def get_task_or_404(conn: psycopg.Connection, task_id: int) -> dict[str, Any]:
    """One task with its assignees, or a 404."""
    row = conn.execute(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = %s", (task_id,)).fetchone()
    if row is None:
        raise ApiError(404, "not_found", "task not found")
    return load_tasks(conn, [row])[0]


@app.get("/health")
def health() -> dict[str, str]:
    """Report readiness."""
    return {"status": "ok"}


# -- organisations ----------------------------------------------------------------------------


@app.post("/organisations", status_code=201)
def create_organisation(body: OrganisationIn) -> dict[str, Any]:
    """Create an organisation."""
    with pool.connection() as conn:
        row = conn.execute(
            "INSERT INTO organisations (name) VALUES (%s) RETURNING id, name", (body.name,)
        ).fetchone()
    return dict(row)


@app.get("/organisations")
def list_organisations(name: NameFilter = None, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    """List organisations by id, optionally those whose name contains `name` (any case)."""
    params = {"name": name or None, "limit": limit, "offset": offset}
    where = " WHERE %(name)s::text IS NULL OR strpos(lower(name), lower(%(name)s)) > 0"
    with pool.connection() as conn:
        total = conn.execute("SELECT count(*) AS n FROM organisations" + where, params).fetchone()["n"]
        rows = conn.execute(
            "SELECT id, name FROM organisations" + where + " ORDER BY id LIMIT %(limit)s OFFSET %(offset)s",
            params,
        ).fetchall()
    return {"items": rows, "total": total}


@app.get("/organisations/{organisation_id}")
def get_organisation(organisation_id: str) -> dict[str, Any]:
    """Fetch one organisation."""
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT id, name FROM organisations WHERE id = %s", (parse_id(organisation_id),)
        ).fetchone()
    if row is None:
        raise ApiError(404, "not_found", "organisation not found")
    return dict(row)


@app.delete("/organisations/{organisation_id}", status_code=204)
def delete_organisation(organisation_id: str) -> Response:
    """Delete an organisation that has no projects (the foreign key restricts it)."""
    try:
        with pool.connection() as conn:
            deleted = conn.execute(
                "DELETE FROM organisations WHERE id = %s", (parse_id(organisation_id),)
            ).rowcount
    except psycopg.errors.ForeignKeyViolation as exc:
        raise ApiError(409, "conflict", "the organisation still has projects") from exc
    if deleted == 0:
        raise ApiError(404, "not_found", "organisation not found")
    return Response(status_code=204)


# -- projects ---------------------------------------------------------------------------------


@app.post("/projects", status_code=201)
def create_project(body: ProjectIn) -> dict[str, Any]:
    """Create a project; its name is unique within its organisation, in any case."""
    try:
        with pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO projects (organisation_id, name) VALUES (%s, %s)"
                " RETURNING id, organisation_id, name",
                (body.organisation_id, body.name),
            ).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise ApiError(409, "conflict", "the organisation already has a project of this name") from exc
    except psycopg.errors.ForeignKeyViolation as exc:
        raise ApiError(422, "validation_error", "organisation_id: no such organisation") from exc
    return dict(row)


@app.get("/projects")
def list_projects(
    organisation_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """List projects by id, optionally those of one organisation."""
    params = {"org": organisation_id, "limit": limit, "offset": offset}
    where = " WHERE %(org)s::bigint IS NULL OR organisation_id = %(org)s"
    with pool.connection() as conn:
        total = conn.execute("SELECT count(*) AS n FROM projects" + where, params).fetchone()["n"]
        rows = conn.execute(
            "SELECT id, organisation_id, name FROM projects" + where
            + " ORDER BY id LIMIT %(limit)s OFFSET %(offset)s",
            params,
        ).fetchall()
    return {"items": rows, "total": total}


@app.get("/projects/{project_id}")
def get_project(project_id: str) -> dict[str, Any]:
    """Fetch one project."""
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT id, organisation_id, name FROM projects WHERE id = %s", (parse_id(project_id),)
        ).fetchone()
    if row is None:
        raise ApiError(404, "not_found", "project not found")
    return dict(row)


@app.delete("/projects/{project_id}", status_code=204)
def delete_project(project_id: str) -> Response:
    """Delete a project; the database deletes its tasks and their assignments with it."""
    with pool.connection() as conn:
        deleted = conn.execute("DELETE FROM projects WHERE id = %s", (parse_id(project_id),)).rowcount
    if deleted == 0:
        raise ApiError(404, "not_found", "project not found")
    return Response(status_code=204)


# -- members ----------------------------------------------------------------------------------


@app.post("/members", status_code=201)
def create_member(body: MemberIn) -> dict[str, Any]:
    """Create a member; the email is unique in any case."""
    try:
        with pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO members (email, name) VALUES (%s, %s) RETURNING id, email, name",
                (body.email, body.name),
            ).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise ApiError(409, "conflict", "a member with this email already exists") from exc
    return dict(row)


# -- tasks ------------------------------------------------------------------------------------


@app.post("/tasks", status_code=201)
def create_task(body: TaskIn) -> dict[str, Any]:
    """Create a task; the database checks its project, status, estimate and dates."""
    try:
        with pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO tasks (project_id, title, status, estimate_hours, start_date, due_date)"
                f" VALUES (%s, %s, %s, %s, %s, %s) RETURNING {TASK_COLUMNS}",
                (
                    body.project_id,
                    body.title,
                    body.status,
                    body.estimate_hours,
                    body.start_date,
                    body.due_date,
                ),
            ).fetchone()
    except psycopg.errors.ForeignKeyViolation as exc:
        raise ApiError(422, "validation_error", "project_id: no such project") from exc
    except psycopg.errors.CheckViolation as exc:
        raise ApiError(422, "validation_error", "due_date must not be before start_date") from exc
    return task_out(row, [])


@app.get("/tasks")
def list_tasks(
    project_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: Annotated[str | None, Query(pattern="^(todo|in_progress|done)$")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """List tasks by id, optionally of one project and in one status."""
    params = {"project": project_id, "status": status, "limit": limit, "offset": offset}
    where = (
        " WHERE (%(project)s::bigint IS NULL OR project_id = %(project)s)"
        " AND (%(status)s::text IS NULL OR status = %(status)s)"
    )
    with pool.connection() as conn:
        total = conn.execute("SELECT count(*) AS n FROM tasks" + where, params).fetchone()["n"]
        rows = conn.execute(
            f"SELECT {TASK_COLUMNS} FROM tasks" + where
            + " ORDER BY id LIMIT %(limit)s OFFSET %(offset)s",
            params,
        ).fetchall()
        items = load_tasks(conn, rows)
    return {"items": items, "total": total}


@app.get("/tasks/{task_id}")
def get_task(task_id: str) -> dict[str, Any]:
    """Fetch one task with its assignees."""
    with pool.connection() as conn:
        return get_task_or_404(conn, parse_id(task_id))


@app.patch("/tasks/{task_id}")
def update_task(task_id: str, body: TaskPatch) -> dict[str, Any]:
    """Change the fields sent; the stored row must still pass every check, else nothing changes."""
    fields = [name for name in TaskPatch.model_fields if name in body.model_fields_set]
    if not fields:
        raise ApiError(422, "validation_error", "the body changes no field")
    tid = parse_id(task_id)
    assignments = ", ".join(f"{name} = %({name})s" for name in fields)
    try:
        with pool.connection() as conn:
            row = conn.execute(
                f"UPDATE tasks SET {assignments} WHERE id = %(id)s RETURNING id",
                {**body.model_dump(include=set(fields)), "id": tid},
            ).fetchone()
            if row is None:
                raise ApiError(404, "not_found", "task not found")
            return get_task_or_404(conn, tid)
    except psycopg.errors.CheckViolation as exc:
        raise ApiError(422, "validation_error", "due_date must not be before start_date") from exc


@app.post("/tasks/{task_id}/assignees", status_code=201)
def assign_member(task_id: str, body: AssigneeIn) -> dict[str, Any]:
    """Assign a member to a task once; answer the task with its assignees."""
    tid = parse_id(task_id)
    try:
        with pool.connection() as conn:
            if conn.execute("SELECT 1 FROM tasks WHERE id = %s FOR KEY SHARE", (tid,)).fetchone() is None:
                raise ApiError(404, "not_found", "task not found")
            conn.execute(
                "INSERT INTO task_assignments (task_id, member_id) VALUES (%s, %s)",
                (tid, body.member_id),
            )
            return get_task_or_404(conn, tid)
    except psycopg.errors.UniqueViolation as exc:
        raise ApiError(409, "conflict", "the member is already assigned to this task") from exc
    except psycopg.errors.ForeignKeyViolation as exc:
        raise ApiError(422, "validation_error", "member_id: no such member") from exc
