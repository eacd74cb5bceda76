"""What the patient-records tests share: the stated keys, reading the stored columns, the error
body check, creating patients, and further instances with a key list of their own."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from cryptography.fernet import Fernet, InvalidToken

MiB = 1024 * 1024
MAX_ID = 2**63 - 1
TOKEN_TEXT = re.compile(r"[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_=-]+")


def derived_key(secret: str) -> str:
    """The key of k0 when DATA_KEYS is unset: base64url(SHA-256(APP_SECRET))."""
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode("utf-8")).digest()).decode()


def index_of(secret: str, national_id: str) -> str:
    """The stated blind index of a national id."""
    key = hashlib.sha256(("national-id-index:" + secret).encode("utf-8")).digest()
    return hmac.new(key, national_id.encode("utf-8"), hashlib.sha256).hexdigest()


def new_key() -> str:
    return Fernet.generate_key().decode()


def data_keys(*pairs: tuple[str, str]) -> str:
    """The DATA_KEYS text of (key id, key) pairs, the first one first."""
    return ",".join(f"{kid}:{key}" for kid, key in pairs)


def key_id_of(stored: str) -> str:
    return stored.partition(":")[0]


def open_value(stored: str, keys: dict[str, str]) -> str | None:
    """The value of `<key id>:<token>` under the key its id names in `keys`, else None."""
    assert isinstance(stored, str) and TOKEN_TEXT.fullmatch(stored), stored[:120]
    key_id, _, token = stored.partition(":")
    if key_id not in keys:
        return None
    try:
        return Fernet(keys[key_id].encode()).decrypt(token.encode()).decode("utf-8")
    except InvalidToken:
        return None


def stored_row(db: Any, patient_id: int) -> dict[str, Any] | None:
    """The patient's row as stored, or None."""
    row = db.execute(
        "SELECT name, date_of_birth::text, national_id, notes, national_id_index "
        "FROM patients WHERE id = %s",
        (patient_id,),
    ).fetchone()
    if row is None:
        return None
    fields = ("name", "date_of_birth", "national_id", "notes", "national_id_index")
    return dict(zip(fields, row, strict=True))


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    """The response has `status` and the body {"error": {"code": code, "message": <text>}}."""
    assert response.status_code == status, (
        response.request.method, str(response.request.url), response.status_code,
        response.text[:300],
    )  # fmt: skip
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    assert body["error"].get("code") == code, body
    assert isinstance(body["error"].get("message"), str), body


def patient_body(unique: Any, **changes: Any) -> dict[str, Any]:
    """A valid create body with unique values (a change set to ... removes that field)."""
    body: dict[str, Any] = {
        "name": unique("Ada Lovelace"),
        "date_of_birth": "1815-12-10",
        "national_id": unique("NI"),
        "notes": unique("allergic to penicillin"),
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def create(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    """Create a patient; the answer is the body sent, with its id and the default notes."""
    response = client.post("/v1/patients", json=body)
    assert response.status_code == 201, response.text[:300]
    created = response.json()
    assert created == {"notes": "", **body, "id": created["id"]}, created
    return dict(created)


def rotate(client: httpx.Client) -> dict[str, Any]:
    response = client.post("/v1/admin/rotate-keys", extensions={"deadline": 60})
    assert response.status_code == 200, response.text[:300]
    return dict(response.json())


def leaks(response: httpx.Response, *texts: str) -> list[str]:
    """The texts the response's body or headers show."""
    shown = response.text + json.dumps(dict(response.headers))
    return [t for t in texts if t and t in shown]


@contextmanager
def instance(server: Any, client_factory: Any, auth_headers: dict[str, str],
             keys: str) -> Iterator[httpx.Client]:  # fmt: skip
    """A client of a further instance of the server started with DATA_KEYS=`keys`."""
    started = server.start_instance(env={"DATA_KEYS": keys})
    try:
        yield client_factory(base_url=started.base_url, headers=auth_headers)
    finally:
        server.stop_instance(started)


def expected_rotation(
    db: Any, keys: list[tuple[str, str]]
) -> tuple[int, int, list[tuple[int, str]]]:
    """(rotated, unreadable, the (patient id, field) of every value to rotate) that a rotation
    under `keys` must answer, from every value stored now."""
    first = keys[0][0]
    by_id = dict(keys)
    rotated = unreadable = 0
    touched = []
    for pid, *values in db.execute("SELECT id, national_id, notes FROM patients").fetchall():
        for field, stored in zip(("national_id", "notes"), values, strict=True):
            kid = key_id_of(stored)
            if kid == first:
                continue
            if kid in by_id and open_value(stored, by_id) is not None:
                rotated += 1
                touched.append((pid, field))
            else:
                unreadable += 1
    return rotated, unreadable, touched
