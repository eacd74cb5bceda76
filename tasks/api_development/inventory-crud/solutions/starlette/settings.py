"""Configuration read from the environment."""

import os
import re


def database_dsn() -> str:
    """Return DATABASE_URL in the plain form asyncpg accepts (no ``+driver`` suffix)."""
    url = os.environ["DATABASE_URL"]
    return re.sub(r"^postgres(?:ql)?\+[a-z0-9_]+://", "postgresql://", url)


def app_secret() -> bytes:
    """Return the bearer token that writes must present."""
    return os.environ.get("APP_SECRET", "").encode()
