"""Pydantic models of the request and response bodies.

Requests are validated in strict mode from JSON parsed with exact decimals, so a price keeps the
digits the client sent and "5" is not an integer.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
)

MAX_BIGINT = 2**63 - 1


def storable(value: str) -> str:
    """Reject text PostgreSQL cannot store: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    return value


def not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def email_shape(value: str) -> str:
    """local@domain.tld: one @, no whitespace, a dot inside the domain."""
    local, _, domain = value.partition("@")
    shaped = (
        value.count("@") == 1
        and local
        and not any(char.isspace() for char in value)
        and "." in domain[1:-1]
    )
    if not shaped:
        raise ValueError("must look like local@domain.tld")
    return value


def integer_as_decimal(value: Any) -> Any:
    """A JSON integer is a number too: let it through as a Decimal."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return value


Name = Annotated[
    str, Field(min_length=1, max_length=200), AfterValidator(storable), AfterValidator(not_blank)
]
Email = Annotated[str, Field(max_length=254), AfterValidator(storable), AfterValidator(email_shape)]
Price = Annotated[
    Decimal, BeforeValidator(integer_as_decimal), Field(gt=0, le=1_000_000, decimal_places=2)
]
Money = Annotated[Decimal, PlainSerializer(lambda amount: f"{amount:.2f}", return_type=str)]


class StrictInput(BaseModel):
    """Strict validation: JSON types must match exactly."""

    model_config = ConfigDict(strict=True)


class CustomerIn(StrictInput):
    email: Email
    name: Name


class ProductIn(StrictInput):
    name: Name
    price: Price
    stock: Annotated[int, Field(ge=0, le=1_000_000)]


class LineIn(StrictInput):
    product_id: int
    quantity: Annotated[int, Field(ge=1, le=1_000_000)]


class OrderIn(StrictInput):
    customer_id: int
    items: Annotated[list[LineIn], Field(min_length=1, max_length=100)]


class Output(BaseModel):
    """Built from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


class CustomerOut(Output):
    id: int
    email: str
    name: str


class ProductOut(Output):
    id: int
    name: str
    price: Money
    stock: int


class LineOut(Output):
    product_id: int
    quantity: int
    unit_price: Money


class OrderOut(Output):
    id: int
    customer_id: int
    status: str
    items: list[LineOut]
    total: Money
    created_at: datetime


Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """A list answer: the items and how many there are before paging."""

    items: list[Item]
    total: int
