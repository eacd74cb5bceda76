"""/v1/books: add books, read one, list them by title."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AfterValidator
from sqlalchemy import func, select

from app.auth import require_token
from app.db import SessionDep
from app.errors import ApiError
from app.models import BOOK_ORDER, Book
from app.schemas import BookIn, BookOut, BookPage, Limit, Offset, PathId, no_nul
from app.settings import MAX_BIGINT

router = APIRouter(prefix="/v1/books", tags=["books"])

AuthorFilter = Annotated[
    str | None, Query(max_length=200), AfterValidator(lambda v: v and no_nul(v))
]


@router.post("", status_code=201, dependencies=[Depends(require_token)])
def create_book(body: BookIn, session: SessionDep) -> BookOut:
    """Add a book."""
    book = Book(title=body.title, author=body.author, year=body.year)
    session.add(book)
    session.commit()
    return BookOut.model_validate(book)


@router.get("")
def list_books(
    session: SessionDep, author: AuthorFilter = None, limit: Limit = 20, offset: Offset = 0
) -> BookPage:
    """List books by title (code point order), then id; `author` is an exact match."""
    matching = select(Book)
    if author is not None:
        matching = matching.where(Book.author == author)
    total = session.scalar(select(func.count()).select_from(matching.subquery())) or 0
    # OFFSET is a bigint: an offset past it skips every row anyway
    page = matching.order_by(*BOOK_ORDER).limit(limit).offset(min(offset, MAX_BIGINT))
    items = [BookOut.model_validate(book) for book in session.scalars(page)]
    return BookPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/{book_id}")
def get_book(book_id: PathId, session: SessionDep) -> BookOut:
    """Read one book."""
    book = session.get(Book, book_id)
    if book is None:
        raise ApiError(404, "not_found", "no such book")
    return BookOut.model_validate(book)
