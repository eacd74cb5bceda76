"""Configuration, read from the environment when it is needed (so tests can set it first)."""

import os

# PostgreSQL's bigint: the largest id a row can have, and the largest OFFSET it accepts
MAX_BIGINT = 2**63 - 1


def database_url() -> str:
    """DATABASE_URL as SQLAlchemy wants it: postgresql:// URLs use the psycopg 3 driver."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        raise RuntimeError("DATABASE_URL is not set")
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def app_secret() -> str:
    """The bearer token writes must carry; empty means no write is allowed."""
    return os.environ.get("APP_SECRET", "")
