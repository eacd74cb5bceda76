"""Pydantic models of the request and response bodies of both API versions."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _storable(value: str) -> str:
    """PostgreSQL text holds neither NUL nor lone surrogates (e.g. a JSON "\\ud800")."""
    if "\x00" in value:
        raise ValueError("must not contain the NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    return value


Title = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_storable)]
Text = Annotated[str, Field(max_length=10_000), AfterValidator(_storable)]
Tag = Annotated[str, Field(min_length=1, max_length=50), AfterValidator(_storable)]


class NoteV1In(BaseModel):
    """Body of POST /v1/notes."""

    title: Title
    body: Text


class NoteV2In(BaseModel):
    """Body of POST /v2/notes."""

    title: Title
    content: Text
    tags: list[Tag] = Field(default_factory=list, max_length=20)


class NoteV1Out(BaseModel):
    """A note as v1 shows it (no tags)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    body: str = Field(validation_alias="content")
    created_at: datetime


class NoteV2Out(BaseModel):
    """A note as v2 shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    content: str
    tags: list[str]
    created_at: datetime
    version: Literal[2] = 2


class PageMeta(BaseModel):
    """Paging metadata of a v2 list."""

    total: int
    limit: int
    offset: int


class NoteV2Page(BaseModel):
    """GET /v2/notes: one page of notes and its metadata."""

    data: list[NoteV2Out]
    meta: PageMeta
