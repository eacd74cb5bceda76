"""/v1/members: register members, read, list and delete them, and list their loans."""

import psycopg
from fastapi import APIRouter, Depends, Response
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from app.auth import require_token
from app.db import SessionDep
from app.errors import ApiError
from app.models import Loan, Member
from app.routers.loans import OpenFilter, loan_page
from app.schemas import Limit, LoanPage, MemberIn, MemberOut, MemberPage, Offset, PathId
from app.settings import MAX_BIGINT

router = APIRouter(prefix="/v1/members", tags=["members"])


@router.post("", status_code=201, dependencies=[Depends(require_token)])
def create_member(body: MemberIn, session: SessionDep) -> MemberOut:
    """Register a member; an email already registered is a conflict."""
    member = Member(name=body.name, email=body.email)
    session.add(member)
    try:
        session.commit()
    except IntegrityError as exc:
        if isinstance(exc.orig, psycopg.errors.UniqueViolation):
            raise ApiError(409, "conflict", "a member with this email exists") from exc
        raise
    return MemberOut.model_validate(member)


@router.get("")
def list_members(session: SessionDep, limit: Limit = 20, offset: Offset = 0) -> MemberPage:
    """List members by id."""
    total = session.scalar(select(func.count()).select_from(Member)) or 0
    page = select(Member).order_by(Member.id).limit(limit).offset(min(offset, MAX_BIGINT))
    items = [MemberOut.model_validate(member) for member in session.scalars(page)]
    return MemberPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/{member_id}")
def get_member(member_id: PathId, session: SessionDep) -> MemberOut:
    """Read one member."""
    member = session.get(Member, member_id)
    if member is None:
        raise ApiError(404, "not_found", "no such member")
    return MemberOut.model_validate(member)


@router.delete("/{member_id}", status_code=204, dependencies=[Depends(require_token)])
def delete_member(member_id: PathId, session: SessionDep) -> Response:
    """Delete a member who has no open loan, with their returned loans."""
    # locked as a borrow locks it: no loan can open between the check and the delete
    member = session.scalar(select(Member).where(Member.id == member_id).with_for_update())
    if member is None:
        raise ApiError(404, "not_found", "no such member")
    open_loan = select(Loan.id).where(Loan.member_id == member_id, Loan.returned_at.is_(None))
    if session.scalar(open_loan.limit(1)) is not None:
        raise ApiError(409, "member_has_open_loans", "the member has books on loan")
    # the foreign key deletes the member's returned loans with them
    session.execute(delete(Member).where(Member.id == member_id))
    session.commit()
    return Response(status_code=204)


@router.get("/{member_id}/loans")
def list_member_loans(
    member_id: PathId,
    session: SessionDep,
    is_open: OpenFilter = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> LoanPage:
    """The member's loans, newest first."""
    if session.get(Member, member_id) is None:
        raise ApiError(404, "not_found", "no such member")
    return loan_page(
        session, member_id=member_id, book_id=None, is_open=is_open, limit=limit, offset=offset
    )
