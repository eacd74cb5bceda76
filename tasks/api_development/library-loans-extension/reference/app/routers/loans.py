"""/v1/loans: members borrow books and return them; loans are listed newest first."""

from typing import Annotated

import psycopg
from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth import require_token
from app.db import SessionDep
from app.errors import ApiError
from app.models import Book, Loan, Member
from app.schemas import IdFilter, Limit, LoanIn, LoanOut, LoanPage, Offset, PathId
from app.settings import MAX_BIGINT

router = APIRouter(prefix="/v1/loans", tags=["loans"])

MAX_OPEN_LOANS = 3
OpenFilter = Annotated[bool | None, Query(alias="open")]


def book_unavailable() -> ApiError:
    return ApiError(409, "book_unavailable", "the book is on loan")


def loan_page(
    session: Session,
    *,
    member_id: int | None,
    book_id: int | None,
    is_open: bool | None,
    limit: int,
    offset: int,
) -> LoanPage:
    """One page of the loans that match every filter given, newest (highest id) first."""
    matching = select(Loan)
    if member_id is not None:
        matching = matching.where(Loan.member_id == member_id)
    if book_id is not None:
        matching = matching.where(Loan.book_id == book_id)
    if is_open is not None:
        returned = Loan.returned_at.is_(None) if is_open else Loan.returned_at.is_not(None)
        matching = matching.where(returned)
    total = session.scalar(select(func.count()).select_from(matching.subquery())) or 0
    page = matching.order_by(Loan.id.desc()).limit(limit).offset(min(offset, MAX_BIGINT))
    items = [LoanOut.model_validate(loan) for loan in session.scalars(page)]
    return LoanPage(items=items, total=total, limit=limit, offset=offset)


@router.post("", status_code=201, dependencies=[Depends(require_token)])
def borrow(body: LoanIn, session: SessionDep) -> LoanOut:
    """Lend a book to a member: the book must be on no loan and the member below the limit."""
    # the member's row lock makes one member's borrows (and their deletion) take turns, so
    # the count of open loans cannot change between the check and the insert
    member = session.scalar(select(Member).where(Member.id == body.member_id).with_for_update())
    if member is None:
        raise ApiError(404, "not_found", "no such member")
    if session.get(Book, body.book_id) is None:
        raise ApiError(404, "not_found", "no such book")
    taken = select(Loan.id).where(Loan.book_id == body.book_id, Loan.returned_at.is_(None))
    if session.scalar(taken) is not None:
        raise book_unavailable()
    open_loans = select(func.count()).where(
        Loan.member_id == body.member_id, Loan.returned_at.is_(None)
    )
    if (session.scalar(open_loans) or 0) >= MAX_OPEN_LOANS:
        raise ApiError(409, "loan_limit_reached", f"a member may have {MAX_OPEN_LOANS} open loans")
    loan = Loan(member_id=body.member_id, book_id=body.book_id)
    session.add(loan)
    try:
        session.commit()
    except IntegrityError as exc:
        # another member's borrow of this book committed after our check
        if isinstance(exc.orig, psycopg.errors.UniqueViolation):
            raise book_unavailable() from exc
        raise
    return LoanOut.model_validate(loan)


@router.get("")
def list_loans(
    session: SessionDep,
    member_id: IdFilter = None,
    book_id: IdFilter = None,
    is_open: OpenFilter = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> LoanPage:
    """List loans, newest first; filters combine with AND."""
    return loan_page(
        session, member_id=member_id, book_id=book_id, is_open=is_open, limit=limit, offset=offset
    )


@router.get("/{loan_id}")
def get_loan(loan_id: PathId, session: SessionDep) -> LoanOut:
    """Read one loan."""
    loan = session.get(Loan, loan_id)
    if loan is None:
        raise ApiError(404, "not_found", "no such loan")
    return LoanOut.model_validate(loan)


@router.post("/{loan_id}/return", dependencies=[Depends(require_token)])
def return_book(loan_id: PathId, session: SessionDep) -> LoanOut:
    """Close an open loan; the book is available again."""
    # one statement: of two returns that race, exactly one finds the loan still open
    closing = (
        update(Loan)
        .where(Loan.id == loan_id, Loan.returned_at.is_(None))
        .values(returned_at=func.now())
        .returning(Loan)
    )
    loan = session.scalar(closing)
    session.commit()
    if loan is not None:
        return LoanOut.model_validate(loan)
    if session.get(Loan, loan_id) is None:
        raise ApiError(404, "not_found", "no such loan")
    raise ApiError(409, "already_returned", "the loan was returned already")
