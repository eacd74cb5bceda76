"""The tables: books and the library's members."""

from sqlalchemy import BigInteger, Identity, Index, Integer, Text
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
