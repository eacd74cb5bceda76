"""The tables: books, the library's members and their loans."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, Integer, Text, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """The declarative base of every table."""


class Book(Base):
    """One copy of a book the library lends."""

    __tablename__ = "books"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(Text, index=True)
    year: Mapped[int] = mapped_column(Integer)


# The list's order: titles compared by code point (whatever the database's collation), then id.
BOOK_ORDER = (Book.title.collate("C"), Book.id)
Index("books_title_order", *BOOK_ORDER)


class Member(Base):
    """A person who may borrow books."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(Text, unique=True)


class Loan(Base):
    """A member borrowing a book; open until the book is returned."""

    __tablename__ = "loans"
    __table_args__ = (
        # one open loan per book, held by the database itself: of two borrows that race,
        # the second insert fails however the checks before it interleaved
        Index(
            "loans_one_open_per_book",
            "book_id",
            unique=True,
            postgresql_where=text("returned_at IS NULL"),
        ),
        Index("loans_by_member", "member_id", "id"),
    )
    # fetch borrowed_at (set by the database) on insert, for the response
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    # a member's returned loans go with them; one with open loans cannot be deleted
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id"), index=True)
    borrowed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
