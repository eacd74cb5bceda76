"""The request bodies, validated before anything reaches the database."""

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StrictStr

# the shape the orders_amount_format check of revision 0001 accepts
AMOUNT_RE = re.compile(r" *([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]{1,2})? *")
MAX_WHOLE = 10**16  # whole euros stay below this


def _storable(value: str) -> str:
    """PostgreSQL text cannot hold NUL characters."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _amount(value: str) -> str:
    match = AMOUNT_RE.fullmatch(value)
    if not match or int(match.group(1).replace(",", "")) >= MAX_WHOLE:
        raise ValueError("must be euros like 12.50, 7 or 1,234.00, below 10^16")
    return value


CustName = Annotated[
    StrictStr, Field(min_length=1, max_length=200), AfterValidator(_not_blank),
    AfterValidator(_storable),
]  # fmt: skip
Amount = Annotated[StrictStr, Field(max_length=40), AfterValidator(_amount)]


class OrderIn(BaseModel):
    """Body of POST /v1/orders: the amount is stored as written."""

    cust_name: CustName
    amount: Amount
