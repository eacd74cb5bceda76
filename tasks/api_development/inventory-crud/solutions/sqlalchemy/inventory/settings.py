"""Configuration read from the environment."""

import os

from sqlalchemy.engine import URL, make_url


def database_url() -> URL:
    """DATABASE_URL, pinned to the psycopg 3 driver whatever scheme it was given with."""
    return make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg")


def app_secret() -> bytes:
    """The bearer token that every write must present."""
    return os.environ.get("APP_SECRET", "").encode()
