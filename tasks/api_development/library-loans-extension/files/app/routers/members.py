"""/v1/members: register members, read, list and delete them."""

import psycopg
from fastapi import APIRouter, Depends, Response
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from app.auth import require_token
from app.db import SessionDep
from app.errors import ApiError
from app.models import Member
from app.schemas import Limit, MemberIn, MemberOut, MemberPage, Offset, PathId
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
    """Delete a member."""
    deleted = session.execute(delete(Member).where(Member.id == member_id)).rowcount
    session.commit()
    if not deleted:
        raise ApiError(404, "not_found", "no such member")
    return Response(status_code=204)
