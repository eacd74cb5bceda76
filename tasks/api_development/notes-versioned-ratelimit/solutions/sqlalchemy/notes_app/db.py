"""SQLAlchemy 2.x ORM: engine, session factory and the mapped Note / NoteTag classes."""

import os
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    SmallInteger,
    Text,
    create_engine,
    func,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    sessionmaker,
)


def sqlalchemy_url() -> URL:
    """DATABASE_URL with the psycopg 3 driver (a bare postgresql:// would mean psycopg2)."""
    return make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg")


class Base(DeclarativeBase):
    """Declarative base of the models; the schema itself is owned by the alembic migrations."""


class Note(Base):
    """A note; v1 calls its text `body`, v2 calls it `content`."""

    __tablename__ = "notes"
    # fetch the server-side created_at with INSERT ... RETURNING
    __mapper_args__: ClassVar[dict[str, Any]] = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    tag_rows: Mapped[list["NoteTag"]] = relationship(
        order_by="NoteTag.position", lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def tags(self) -> list[str]:
        return [row.label for row in self.tag_rows]


class NoteTag(Base):
    """One tag of a note, at its position in the list given at creation."""

    __tablename__ = "note_tags"

    note_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("notes.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    label: Mapped[str] = mapped_column(Text)


@lru_cache(maxsize=1)
def session_factory() -> sessionmaker[Session]:
    """One engine per worker process, created on first use (after gunicorn forks)."""
    engine = create_engine(sqlalchemy_url(), pool_size=10, max_overflow=10)
    return sessionmaker(engine, expire_on_commit=False)


def get_session() -> Iterator[Session]:
    """FastAPI dependency: a session for the duration of one request."""
    with session_factory()() as session:
        yield session
