"""ORM queries on notes; the only module that talks to the database."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notes_app.db import Note, NoteTag

BIGINT_MAX = 2**63 - 1


@dataclass(frozen=True)
class NotePage:
    """The notes of one page and how many notes match the filter in total."""

    notes: list[Note]
    total: int


def create_note(session: Session, title: str, content: str, tags: list[str]) -> Note:
    """Insert a note with its tags (in the given order) and return it."""
    note = Note(title=title, content=content)
    note.tag_rows = [NoteTag(position=i, label=label) for i, label in enumerate(tags)]
    session.add(note)
    session.commit()
    return note


def find_note(session: Session, note_id: int) -> Note | None:
    """The note with this id, or None (also for ids outside the id column's range)."""
    if not -BIGINT_MAX <= note_id <= BIGINT_MAX:
        return None
    return session.get(Note, note_id)


def list_notes(session: Session, q: str | None, limit: int, offset: int) -> NotePage:
    """Notes whose title contains q ignoring case, oldest first."""
    query = select(Note)
    if q is not None:
        if "\x00" in q:  # no stored title can contain NUL
            return NotePage(notes=[], total=0)
        query = query.where(Note.title.icontains(q, autoescape=True))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = query.order_by(Note.id).limit(limit).offset(min(offset, BIGINT_MAX))
    return NotePage(notes=list(session.scalars(page)), total=total)
