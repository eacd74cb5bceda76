"""Item persistence through the SQLAlchemy ORM."""

from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inventory.models import Item
from inventory.schemas import ItemCreate, ListParams

BIGINT_MAX = 2**63 - 1
UNIQUE_VIOLATION = "23505"
ORDERINGS = {
    "price": Item.price.asc(),
    "-price": Item.price.desc(),
    "name": Item.name.asc(),
    "-name": Item.name.desc(),
    "created_at": Item.created_at.asc(),
    "-created_at": Item.created_at.desc(),
}


class NameTaken(Exception):
    """Another item already has the requested name."""


def exact(value: float) -> Decimal:
    """The decimal the client wrote (shortest repr of the parsed float), for NUMERIC."""
    return Decimal(repr(value))


def _is_valid_id(item_id: int) -> bool:
    return 0 < item_id <= BIGINT_MAX


def _commit(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        if getattr(exc.orig, "sqlstate", None) == UNIQUE_VIOLATION:
            raise NameTaken from exc
        raise


def get(session: Session, item_id: int) -> Item | None:
    """The item with that id, or None."""
    return session.get(Item, item_id) if _is_valid_id(item_id) else None


def create(session: Session, data: ItemCreate) -> Item:
    """Insert a new item; raises NameTaken on a duplicate name."""
    item = Item(name=data.name, sku=data.sku, price=exact(data.price), quantity=data.quantity)
    session.add(item)
    _commit(session)
    return item


def update(session: Session, item_id: int, changes: dict[str, Any]) -> Item | None:
    """Apply the given changes to the (row-locked) item; None when it does not exist."""
    if not _is_valid_id(item_id):
        return None
    item = session.get(Item, item_id, with_for_update=True)
    if item is None:
        return None
    if "price" in changes:
        changes = {**changes, "price": exact(changes["price"])}
    for field, value in changes.items():
        setattr(item, field, value)
    _commit(session)
    return item


def remove(session: Session, item_id: int) -> bool:
    """Delete the item; False when it did not exist."""
    if not _is_valid_id(item_id):
        return False
    deleted = session.scalar(delete(Item).where(Item.id == item_id).returning(Item.id))
    session.commit()
    return deleted is not None


def _conditions(params: ListParams) -> list[ColumnElement[bool]]:
    conditions = []
    if params.name is not None:
        conditions.append(Item.name == params.name)
    if params.min_price is not None:
        conditions.append(Item.price >= exact(params.min_price))
    if params.max_price is not None:
        conditions.append(Item.price <= exact(params.max_price))
    return conditions


def page(session: Session, params: ListParams) -> tuple[list[Item], int]:
    """One page of the matching items and how many match, read from one snapshot."""
    if params.name is not None and "\x00" in params.name:
        return [], 0  # PostgreSQL text cannot hold NUL, so no stored name matches
    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    conditions = _conditions(params)
    total = session.scalar(select(func.count()).select_from(Item).where(*conditions))
    query = (
        select(Item)
        .where(*conditions)
        .order_by(ORDERINGS[params.sort], Item.id.asc())
        .limit(params.limit)
        .offset(min(params.offset, BIGINT_MAX))
    )
    items = list(session.scalars(query))
    session.rollback()
    return items, total or 0
