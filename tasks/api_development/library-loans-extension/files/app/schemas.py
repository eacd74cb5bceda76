"""Request and response bodies, and the query parameters every list shares."""

from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr

from app.settings import MAX_BIGINT


def no_nul(value: str) -> str:
    """PostgreSQL cannot store NUL characters in text: refuse them as invalid input."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text200 = Annotated[StrictStr, Field(min_length=1, max_length=200), AfterValidator(no_nul)]
Email = Annotated[
    StrictStr, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$"),
    AfterValidator(no_nul),
]  # fmt: skip

Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0)]
PathId = Annotated[int, Path(ge=1, le=MAX_BIGINT)]


class BookIn(BaseModel):
    """Body of POST /v1/books."""

    title: Text200
    author: Text200
    year: Annotated[StrictInt, Field(ge=1000, le=2100)]


class BookOut(BaseModel):
    """A book as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    author: str
    year: int


class BookPage(BaseModel):
    """One page of GET /v1/books."""

    items: list[BookOut]
    total: int
    limit: int
    offset: int


class MemberIn(BaseModel):
    """Body of POST /v1/members."""

    name: Text200
    email: Email


class MemberOut(BaseModel):
    """A member as the API returns them."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str


class MemberPage(BaseModel):
    """One page of GET /v1/members."""

    items: list[MemberOut]
    total: int
    limit: int
    offset: int
