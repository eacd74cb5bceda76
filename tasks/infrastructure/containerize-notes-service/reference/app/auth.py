"""Writes need the shared secret of APP_SECRET as a bearer token."""

import hmac
import os

from fastapi import Header, HTTPException


def require_secret(authorization: str = Header(default="")) -> None:
    """Refuse the request with 401 unless it carries `Authorization: Bearer <APP_SECRET>`."""
    expected = f"Bearer {os.environ['APP_SECRET']}"
    # compare_digest: the time taken must not reveal how much of the secret matched.
    if not hmac.compare_digest(authorization.encode(), expected.encode()):
        raise HTTPException(status_code=401, detail="missing or wrong bearer token")
