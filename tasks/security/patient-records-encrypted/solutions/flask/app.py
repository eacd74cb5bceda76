"""Patient records in Flask over psycopg: sensitive fields sealed with MultiFernet per key id,
a keyed blind index, and key rotation in id-ordered batches."""

import base64
import hashlib
import hmac
import json
import os
import re
from datetime import date
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, Response, jsonify, request
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from werkzeug.exceptions import HTTPException

MAX_ID = 2**63 - 1
MAX_BODY = 1 << 20
DRAIN_LIMIT = 16 << 20
DIGITS = re.compile(r"[0-9]+")
YMD = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
SECRETS = ("national_id", "notes")
FIELDS = {"name": 200, "national_id": 64, "notes": 4000}
BATCH = 250

SECRET = os.environ.get("APP_SECRET", "")


def key_list() -> list[tuple[str, bytes]]:
    """(key id, Fernet key) pairs of DATA_KEYS, or k0 derived from APP_SECRET."""
    text = os.environ.get("DATA_KEYS", "")
    if not text:
        return [("k0", base64.urlsafe_b64encode(hashlib.sha256(SECRET.encode()).digest()))]
    return [(kid, key.encode()) for kid, _, key in (e.partition(":") for e in text.split(","))]


KEYS = key_list()
WRITER = KEYS[0][0]
# one MultiFernet per key id, holding that key alone: a token is opened only by the key its id names
BOXES = {kid: MultiFernet([Fernet(key)]) for kid, key in KEYS}
INDEX_KEY = hashlib.sha256(f"national-id-index:{SECRET}".encode()).digest()


def seal(value: str) -> str:
    return WRITER + ":" + BOXES[WRITER].encrypt(value.encode()).decode()


def unseal(stored: str) -> str | None:
    """The value, or None when no present key opens it."""
    kid, _, token = stored.partition(":")
    box = BOXES.get(kid)
    if box is None:
        return None
    try:
        return box.decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def index(national_id: str) -> str:
    return hmac.new(INDEX_KEY, national_id.encode(), hashlib.sha256).hexdigest()


db = ConnectionPool(
    os.environ["DATABASE_URL"], min_size=1, max_size=8, kwargs={"row_factory": dict_row}
)
with db.connection() as conn:
    # workers and instances start at once: one creates the table, the others wait for it
    conn.execute("SELECT pg_advisory_xact_lock(80431)")
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS patients (
            id bigserial PRIMARY KEY,
            name text NOT NULL,
            date_of_birth date NOT NULL,
            national_id text NOT NULL,
            notes text NOT NULL,
            national_id_index varchar(64) NOT NULL
        );
        CREATE INDEX IF NOT EXISTS patients_by_index ON patients (national_id_index);
        CREATE INDEX IF NOT EXISTS patients_by_name ON patients (name);
        """
    )

app = Flask(__name__)


class Refused(Exception):
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
    codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    status = exc.code or 500
    return error(status, codes.get(status, "http_error"), exc.description or "")


@app.errorhandler(Exception)
def on_crash(_exc: Exception) -> Response:
    return error(500, "internal_error", "internal error")


# -- the gate: 401, 413, 415 ---------------------------------------------------------------------


def drain() -> None:
    left = DRAIN_LIMIT
    while left > 0:
        chunk = request.stream.read(min(65536, left))
        if not chunk:
            return
        left -= len(chunk)


def read_capped() -> bytes | None:
    chunks, size = [], 0
    while True:
        chunk = request.stream.read(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)


def bearer_ok(header: str) -> bool:
    scheme, _, token = header.partition(" ")
    return (
        scheme.lower() == "bearer"
        and bool(SECRET)
        and hmac.compare_digest(token.encode(), SECRET.encode())
    )


@app.before_request
def gate() -> Response | None:
    if not request.path.startswith("/v1/"):
        return None
    if not bearer_ok(request.headers.get("Authorization", "")):
        drain()
        response = error(401, "unauthorized", "a valid bearer token is required")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    if request.method in ("POST", "PUT", "PATCH"):
        if (request.content_length or 0) > MAX_BODY:
            drain()
            return error(413, "payload_too_large", "the body is over 1 MiB")
        data = read_capped()
        if data is None:
            drain()
            return error(413, "payload_too_large", "the body is over 1 MiB")
        if request.mimetype != "application/json" and request.path != "/v1/admin/rotate-keys":
            return error(415, "unsupported_media_type", "the body must be application/json")
        request.environ["patients.body"] = data
    return None


# -- input ---------------------------------------------------------------------------------------


def invalid(message: str) -> Refused:
    return Refused(422, "validation_error", message)


def body_object() -> dict[str, Any]:
    try:
        value = json.loads(request.environ["patients.body"].decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise invalid("the body is not UTF-8 JSON") from exc
    if not isinstance(value, dict):
        raise invalid("the body must be a JSON object")
    return value


def checked(field: str, value: Any) -> Any:
    """A field's value after its rules (a date as a date), else 422."""
    if field == "date_of_birth":
        match = YMD.fullmatch(value) if isinstance(value, str) else None
        if match is not None:
            try:
                return date(*map(int, match.groups()))
            except ValueError:
                pass
        raise invalid("date_of_birth: a real date written YYYY-MM-DD")
    longest = FIELDS[field]
    shortest = 0 if field == "notes" else 1
    if not isinstance(value, str) or not shortest <= len(value) <= longest or "\x00" in value:
        raise invalid(f"{field}: a string of {shortest} to {longest} characters without NUL")
    return value


def patient_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_ID:
        raise Refused(404, "not_found", "no such patient")
    return int(raw)


def whole(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise invalid(f"{name}: digits, from {low} to {high}")
    return int(raw)


def brief(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "date_of_birth": row["date_of_birth"].isoformat()}


def full(row: dict[str, Any]) -> dict[str, Any]:
    opened = {f: unseal(row[f]) for f in SECRETS}
    if None in opened.values():
        raise Refused(409, "key_unavailable", "this patient cannot be read with the present keys")
    return {**brief(row), **opened}


# -- routes --------------------------------------------------------------------------------------


@app.get("/health")
def health() -> Any:
    return {"status": "ok"}


@app.post("/v1/patients")
def create_patient() -> Any:
    body = body_object()
    for field in ("name", "date_of_birth", "national_id"):
        if field not in body:
            raise invalid(f"{field} is required")
    values = {f: checked(f, body[f]) for f in ("name", "date_of_birth", "national_id")}
    values["notes"] = checked("notes", body.get("notes", ""))
    with db.connection() as conn:
        row = conn.execute(
            "INSERT INTO patients (name, date_of_birth, national_id, notes, national_id_index) "
            "VALUES (%(name)s, %(dob)s, %(nid)s, %(notes)s, %(idx)s) RETURNING *",
            {
                "name": values["name"],
                "dob": values["date_of_birth"],
                "nid": seal(values["national_id"]),
                "notes": seal(values["notes"]),
                "idx": index(values["national_id"]),
            },
        ).fetchone()
    return full(row), 201


@app.get("/v1/patients")
def list_patients() -> Any:
    limit = whole("limit", 20, 1, 100)
    offset = min(whole("offset", 0, 0, 10**40), MAX_ID)
    name = request.args.get("name")
    if name is not None and "\x00" in name:
        return {"items": [], "total": 0}
    where = "TRUE" if name is None else "name = %(name)s"
    params = {"name": name, "limit": limit, "offset": offset}
    with db.connection() as conn:
        total = conn.execute(f"SELECT count(*) AS n FROM patients WHERE {where}", params)
        count = total.fetchone()["n"]
        rows = conn.execute(
            f"SELECT id, name, date_of_birth FROM patients WHERE {where} "
            "ORDER BY id DESC LIMIT %(limit)s OFFSET %(offset)s",
            params,
        ).fetchall()
    return {"items": [brief(r) for r in rows], "total": count}


@app.post("/v1/patients/search")
def search_patients() -> Any:
    body = body_object()
    if "national_id" not in body:
        raise invalid("national_id is required")
    wanted = checked("national_id", body["national_id"])
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT id, name, date_of_birth FROM patients WHERE national_id_index = %s "
            "ORDER BY id DESC",
            (index(wanted),),
        ).fetchall()
    return {"items": [brief(r) for r in rows]}


@app.get("/v1/patients/<raw>")
def get_patient(raw: str) -> Any:
    with db.connection() as conn:
        row = conn.execute("SELECT * FROM patients WHERE id = %s", (patient_id(raw),)).fetchone()
    if row is None:
        raise Refused(404, "not_found", "no such patient")
    return full(row)


@app.patch("/v1/patients/<raw>")
def update_patient(raw: str) -> Any:
    body = body_object()
    changes = {f: checked(f, body[f]) for f in ("name", "date_of_birth", *SECRETS) if f in body}
    ident = patient_id(raw)
    with db.connection() as conn:
        row = conn.execute("SELECT * FROM patients WHERE id = %s FOR UPDATE", (ident,)).fetchone()
        if row is None:
            raise Refused(404, "not_found", "no such patient")
        current = full(row)
        if not changes:
            return current
        merged = {**current, **changes}
        # every sensitive value is written again under the first key
        row = conn.execute(
            "UPDATE patients SET name = %(name)s, date_of_birth = %(dob)s, national_id = %(nid)s, "
            "notes = %(notes)s, national_id_index = %(idx)s WHERE id = %(id)s RETURNING *",
            {
                "id": ident,
                "name": merged["name"],
                "dob": changes.get("date_of_birth", row["date_of_birth"]),
                "nid": seal(merged["national_id"]),
                "notes": seal(merged["notes"]),
                "idx": index(merged["national_id"]),
            },
        ).fetchone()
    return full(row)


@app.delete("/v1/patients/<raw>")
def delete_patient(raw: str) -> Any:
    with db.connection() as conn:
        gone = conn.execute("DELETE FROM patients WHERE id = %s", (patient_id(raw),)).rowcount
    if not gone:
        raise Refused(404, "not_found", "no such patient")
    return Response(status=204)


@app.post("/v1/admin/rotate-keys")
def rotate_keys() -> Any:
    rotated = unreadable = 0
    last = 0
    while True:
        with db.connection() as conn:
            rows = conn.execute(
                "SELECT id, national_id, notes FROM patients WHERE id > %s "
                "AND (split_part(national_id, ':', 1) <> %s OR split_part(notes, ':', 1) <> %s) "
                "ORDER BY id LIMIT %s FOR UPDATE",
                (last, WRITER, WRITER, BATCH),
            ).fetchall()
            for row in rows:
                update = {}
                for field in SECRETS:
                    if row[field].partition(":")[0] == WRITER:
                        continue
                    value = unseal(row[field])
                    if value is None:
                        unreadable += 1
                    else:
                        update[field] = seal(value)
                if update:
                    conn.execute(
                        "UPDATE patients SET national_id = %(national_id)s, notes = %(notes)s "
                        "WHERE id = %(id)s",
                        {**row, **update},
                    )
                    rotated += len(update)
        if len(rows) < BATCH:
            return {"rotated": rotated, "unreadable": unreadable}
        last = rows[-1]["id"]
