"""The request bodies, validated before anything reaches the database."""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StrictInt, StrictStr

MAX_CENTS = 10**18 - 1  # whole euros below 10^16, as in revision 0001


def _storable(value: str) -> str:
    """PostgreSQL text cannot hold NUL characters."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


CustomerName = Annotated[
    StrictStr, Field(min_length=1, max_length=200), AfterValidator(_not_blank),
    AfterValidator(_storable),
]  # fmt: skip
# a JSON integer only: 12.0, "1250" and true are refused
AmountCents = Annotated[StrictInt, Field(ge=0, le=MAX_CENTS)]


class OrderIn(BaseModel):
    """Body of POST /v1/orders: the amount in integer cents."""

    customer_name: CustomerName
    amount_cents: AmountCents
