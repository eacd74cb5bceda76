"""/v1/books: add books, read one, list them by title; each says whether it is on loan."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AfterValidator
from sqlalchemy import ColumnElement, Select, func, select

from app.auth import require_token
from app.db import SessionDep
from app.errors import ApiError
from app.models import BOOK_ORDER, Book, Loan
from app.schemas import BookIn, BookOut, BookPage, Limit, Offset, PathId, no_nul
from app.settings import MAX_BIGINT

router = APIRouter(prefix="/v1/books", tags=["books"])

AuthorFilter = Annotated[
    str | None, Query(max_length=200), AfterValidator(lambda v: v and no_nul(v))
]


def on_loan() -> ColumnElement[bool]:
    """Whether the book of the row has an open loan."""
    return select(Loan.id).where(Loan.book_id == Book.id, Loan.returned_at.is_(None)).exists()


def with_availability() -> Select[Any]:
    """Books, each with whether it is available (not on loan)."""
    return select(Book, (~on_loan()).label("available"))


def book_out(book: Book, available: bool) -> BookOut:
    """A book row and its availability as the API returns them."""
    return BookOut(
        id=book.id, title=book.title, author=book.author, year=book.year, available=available
    )


@router.post("", status_code=201, dependencies=[Depends(require_token)])
def create_book(body: BookIn, session: SessionDep) -> BookOut:
    """Add a book; a new book is on no loan."""
    book = Book(title=body.title, author=body.author, year=body.year)
    session.add(book)
    session.commit()
    return book_out(book, available=True)


@router.get("")
def list_books(
    session: SessionDep,
    author: AuthorFilter = None,
    available: bool | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> BookPage:
    """List books by title (code point order), then id; `author` is an exact match and
    `available` keeps only the books that are (true) or are not (false) on loan."""
    matching = with_availability()
    if author is not None:
        matching = matching.where(Book.author == author)
    if available is not None:
        matching = matching.where(~on_loan() if available else on_loan())
    total = session.scalar(select(func.count()).select_from(matching.subquery())) or 0
    # OFFSET is a bigint: an offset past it skips every row anyway
    page = matching.order_by(*BOOK_ORDER).limit(limit).offset(min(offset, MAX_BIGINT))
    items = [book_out(book, is_free) for book, is_free in session.execute(page)]
    return BookPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/{book_id}")
def get_book(book_id: PathId, session: SessionDep) -> BookOut:
    """Read one book."""
    row = session.execute(with_availability().where(Book.id == book_id)).first()
    if row is None:
        raise ApiError(404, "not_found", "no such book")
    return book_out(row[0], row[1])
