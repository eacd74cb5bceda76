"""Engine and sessions (SQLAlchemy 2.x over psycopg 3), configured from DATABASE_URL."""

import os
from collections.abc import Iterator

from sqlalchemy import URL, create_engine, make_url
from sqlalchemy.orm import Session, sessionmaker


def database_url() -> URL:
    """DATABASE_URL with the psycopg 3 driver."""
    return make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg")


engine = create_engine(database_url(), pool_size=8, max_overflow=4, pool_pre_ping=True)
SessionFactory = sessionmaker(engine, expire_on_commit=False)


def get_session() -> Iterator[Session]:
    """One session per request, closed (and rolled back if still open) afterwards."""
    with SessionFactory() as session:
        yield session
