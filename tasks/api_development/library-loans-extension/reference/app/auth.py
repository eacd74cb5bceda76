"""Writes need the shared secret as a bearer token."""

import hmac
from typing import Annotated

from fastapi import Header

from app.errors import ApiError
from app.settings import app_secret


def require_token(authorization: Annotated[str | None, Header()] = None) -> None:
    """Refuse the request unless it carries `Authorization: Bearer <APP_SECRET>`."""
    secret = app_secret()
    given = (authorization or "").encode()
    if not secret or not hmac.compare_digest(given, f"Bearer {secret}".encode()):
        raise ApiError(401, "unauthorized", "missing or wrong bearer token")
