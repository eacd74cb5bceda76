"""The engine, the schema's creation and one session per request."""

from collections.abc import Iterator
from functools import lru_cache
from typing import Annotated

from fastapi import Depends
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from app.models import Base
from app.settings import database_url


@lru_cache(maxsize=1)
def engine() -> Engine:
    """The process's engine, made on first use."""
    return create_engine(database_url(), pool_size=10, max_overflow=10, pool_pre_ping=True)


@lru_cache(maxsize=1)
def session_factory() -> sessionmaker[Session]:
    """Sessions that keep their objects readable after commit (responses are built after it)."""
    return sessionmaker(engine(), expire_on_commit=False)


def create_schema() -> None:
    """Create the tables and indexes that do not exist yet (the database may be empty)."""
    Base.metadata.create_all(engine())


def get_session() -> Iterator[Session]:
    """A session for one request; whatever it did not commit is rolled back."""
    with session_factory()() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
