"""Who is calling: a customer with an API key, or the back office with the admin token."""

import hashlib
import hmac
import os

import psycopg
from fastapi import Depends, Header, HTTPException

from app.db import get_conn


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "missing bearer token")
    return token


def current_customer(
    authorization: str | None = Header(None),
    conn: psycopg.Connection = Depends(get_conn),
) -> int:
    """The id of the customer whose API key is the bearer token."""
    token = _bearer(authorization)
    # keys are stored hashed: a leaked table does not leak working keys
    key_hash = hashlib.sha256(token.encode()).hexdigest()
    row = conn.execute(
        "SELECT id FROM customers WHERE api_key_hash = %s", (key_hash,)
    ).fetchone()
    if row is None:
        raise HTTPException(401, "unknown API key")
    return row[0]


def require_admin(authorization: str | None = Header(None)) -> None:
    """Refuse anyone but the back office, which holds ADMIN_TOKEN."""
    token = _bearer(authorization)
    if not hmac.compare_digest(token.encode(), os.environ["ADMIN_TOKEN"].encode()):
        raise HTTPException(403, "admin only")
