"""Engine and per-request sessions."""

from collections.abc import Iterator

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from inventory.settings import database_url

engine = create_engine(database_url(), pool_size=10, max_overflow=5, pool_recycle=1800)
SessionFactory = sessionmaker(engine, expire_on_commit=False)


def get_session() -> Iterator[Session]:
    """FastAPI dependency: one session per request, closed (and rolled back) afterwards."""
    with SessionFactory() as session:
        yield session
