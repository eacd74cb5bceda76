"""Ledger entries API on Flask: the export streams a server-side cursor (one transaction,
fetched 2000 rows at a time), batch items are stored one by one, external_id made unique by an
index that start.sh creates before the workers start."""

import hmac
import json
import os
import re
from datetime import UTC, datetime

import psycopg
from flask import Flask, Response, request
from psycopg_pool import ConnectionPool

DATABASE_URL = os.environ["DATABASE_URL"]
APP_SECRET = os.environ["APP_SECRET"]
FETCH = 2000
LIMIT_ITEMS = 500
LIMIT_BYTES = 1 << 20
RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)
EXT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = None
pool = ConnectionPool(DATABASE_URL, min_size=1, max_size=8, open=True)


def migrate() -> None:
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS entries_external_id_unique"
            " ON ledger_entries (external_id)"
        )


class Refused(ValueError):
    pass


def problem(status, code, message):
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(body, status=status, mimetype="application/json")


def bearer_ok() -> bool:
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), ("Bearer " + APP_SECRET).encode())


def parse_time(text, field):
    match = RFC3339.match(text) if isinstance(text, str) else None
    if match is None or text.endswith("\n"):
        raise Refused(f"{field}: expected an RFC 3339 date-time with an offset")
    year, month, day, hour, minute, second, frac, zulu, sign, oh, om = match.groups()
    try:
        from datetime import timedelta, timezone

        offset = timedelta(0) if zulu else timedelta(hours=int(oh), minutes=int(om))
        if sign == "-":
            offset = -offset
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            int((frac or "0").ljust(6, "0")), tzinfo=timezone(offset),
        )  # fmt: skip
        moment.astimezone(UTC)
        return moment
    except (ValueError, OverflowError):
        raise Refused(f"{field}: no such date-time") from None


def clean_text(text) -> bool:
    if not isinstance(text, str):
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_account(value):
    if not clean_text(value) or len(value) < 1 or len(value) > 64:
        raise Refused("account: 1 to 64 characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise Refused("account: control characters are not allowed")
    return value


def as_line(row) -> str:
    return json.dumps({
        "id": row[0], "account": row[1], "amount_cents": row[2],
        "posted_at": row[3].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "memo": row[4], "external_id": row[5],
    }) + "\n"  # fmt: skip


class Export:
    """The body of an export: a server-side cursor read in chunks; close() frees its
    connection even when the client goes away early or the body is never read."""

    def __init__(self, account, start, end):
        self.conn = pool.getconn()
        try:
            where = ["account = %s"]
            args = [account]
            if start is not None:
                where.append("posted_at >= %s")
                args.append(start)
            if end is not None:
                where.append("posted_at < %s")
                args.append(end)
            self.cur = self.conn.cursor(name="ledger_export")
            self.cur.execute(
                "SELECT id, account, amount_cents, posted_at, memo, external_id"
                " FROM ledger_entries WHERE " + " AND ".join(where) + " ORDER BY id",
                args,
            )
            self.first = self.cur.fetchmany(FETCH)
        except Exception:
            self.close()
            raise

    def __iter__(self):
        rows = self.first
        self.first = None
        while rows:
            yield "".join(as_line(r) for r in rows).encode("utf-8")
            rows = self.cur.fetchmany(FETCH)

    def close(self):
        if self.conn is None:
            return
        try:
            self.conn.rollback()
        finally:
            pool.putconn(self.conn)
            self.conn = None


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get("/v1/entries/export")
def export():
    if not bearer_ok():
        return problem(401, "unauthorized", "bearer token missing or wrong")
    args = request.args
    try:
        account = check_account(args.get("account"))
        start = parse_time(args["from"], "from") if "from" in args else None
        end = parse_time(args["to"], "to") if "to" in args else None
        if start and end and not start < end:
            raise Refused("from must come before to")
    except Refused as exc:
        return problem(422, "validation_error", str(exc))
    return Response(Export(account, start, end), mimetype="application/x-ndjson")


@app.get("/v1/entries/<entry_id>")
def read_one(entry_id):
    if not bearer_ok():
        return problem(401, "unauthorized", "bearer token missing or wrong")
    if not re.fullmatch(r"[0-9]{1,19}", entry_id) or not 0 < int(entry_id) < 2**63:
        return problem(404, "not_found", "no such entry")
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT id, account, amount_cents, posted_at, memo, external_id"
            " FROM ledger_entries WHERE id = %s", (int(entry_id),),
        ).fetchone()  # fmt: skip
        conn.rollback()
    if row is None:
        return problem(404, "not_found", "no such entry")
    return Response(as_line(row), mimetype="application/json")


def validate_item(item):
    if type(item) is not dict:
        raise Refused("not an object")
    ext = item.get("external_id")
    if not isinstance(ext, str) or not EXT_ID.match(ext) or ext.endswith("\n"):
        raise Refused("external_id is invalid")
    account = check_account(item.get("account"))
    cents = item.get("amount_cents")
    if isinstance(cents, bool) or not isinstance(cents, int) or not 0 < abs(cents) <= 10**12:
        raise Refused("amount_cents is invalid")
    posted = parse_time(item.get("posted_at"), "posted_at")
    memo = item.get("memo", "")
    if not clean_text(memo) or len(memo) > 200 or "\0" in memo:
        raise Refused("memo is invalid")
    return ext, account, cents, posted, memo


def save(conn, ext, account, cents, posted, memo):
    for _ in range(3):
        found = conn.execute(
            "SELECT id, account, amount_cents, posted_at, memo FROM ledger_entries"
            " WHERE external_id = %s", (ext,),
        ).fetchone()  # fmt: skip
        if found is not None:
            if found[1:] == (account, cents, posted, memo):
                return {"status": "existing", "id": found[0]}
            return {"status": "failed", "error": {
                "code": "external_id_conflict", "message": "external_id already used"}}  # fmt: skip
        made = conn.execute(
            "INSERT INTO ledger_entries (external_id, account, amount_cents, posted_at, memo)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (external_id) DO NOTHING RETURNING id",
            (ext, account, cents, posted, memo),
        ).fetchone()
        if made is not None:
            return {"status": "created", "id": made[0]}
    raise RuntimeError("external_id kept changing")


@app.post("/v1/entries/batch")
def batch():
    if not bearer_ok():
        return problem(401, "unauthorized", "bearer token missing or wrong")
    if (request.content_length or 0) > LIMIT_BYTES:
        return problem(413, "payload_too_large", "body over 1 MiB")
    raw = request.get_data(cache=False)
    if len(raw) > LIMIT_BYTES:
        return problem(413, "payload_too_large", "body over 1 MiB")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return problem(422, "validation_error", "body is not JSON")
    items = doc.get("entries") if type(doc) is dict else None
    if type(items) is not list or len(items) == 0 or len(items) > LIMIT_ITEMS:
        return problem(422, "validation_error", "entries: 1 to 500 items")
    out = []
    with pool.connection() as conn:
        conn.autocommit = True
        for i, item in enumerate(items):
            try:
                values = validate_item(item)
            except Refused as exc:
                out.append({"index": i, "status": "failed",
                            "error": {"code": "validation_error", "message": str(exc)}})  # fmt: skip
                continue
            out.append({"index": i, **save(conn, *values)})
        conn.autocommit = False
    status = 207 if any(r["status"] == "failed" for r in out) else 200
    return Response(json.dumps({"results": out}), status=status, mimetype="application/json")


@app.errorhandler(404)
def not_found(_exc):
    return problem(404, "not_found", "no such resource")


@app.errorhandler(405)
def not_allowed(_exc):
    return problem(405, "method_not_allowed", "method not allowed")
