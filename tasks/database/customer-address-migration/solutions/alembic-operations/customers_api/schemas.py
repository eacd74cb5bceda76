"""The request bodies, validated before anything reaches the database."""

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StrictBool, StrictStr

EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+")
# ISO 3166-1 alpha-2 codes of the countries the shop serves
COUNTRIES = frozenset("AT BE BR CA CH DE DK ES FR GB HK IE IT JP NL PL PT SE US".split())


def _storable(value: str) -> str:
    """PostgreSQL text cannot hold NUL characters."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _email(value: str) -> str:
    if not EMAIL_RE.fullmatch(value):
        raise ValueError("must look like name@domain, without whitespace")
    return value


def _country(value: str) -> str:
    if value not in COUNTRIES:
        raise ValueError(f"must be one of {', '.join(sorted(COUNTRIES))}")
    return value


# a string of 1 to N characters that is not blank and PostgreSQL can store
NotBlank = AfterValidator(_not_blank)
Storable = AfterValidator(_storable)
Name = Annotated[StrictStr, Field(min_length=1, max_length=200), NotBlank, Storable]
Street = Annotated[StrictStr, Field(min_length=1, max_length=200), NotBlank, Storable]
City = Annotated[StrictStr, Field(min_length=1, max_length=100), NotBlank, Storable]
PostalCode = Annotated[StrictStr, Field(min_length=1, max_length=20), NotBlank, Storable]
Email = Annotated[StrictStr, Field(max_length=254), AfterValidator(_email), Storable]
Country = Annotated[StrictStr, AfterValidator(_country)]
Label = Annotated[StrictStr, Field(min_length=1, max_length=50), NotBlank, Storable]


class AddressIn(BaseModel):
    """An address as a client sends it."""

    street: Street
    city: City
    postal_code: PostalCode | None = None
    country: Country
    label: Label | None = None


class NewAddressIn(AddressIn):
    """Body of POST /v1/customers/{id}/addresses."""

    is_primary: StrictBool = False


class CustomerIn(BaseModel):
    """Body of POST /v1/customers: the address, when given, becomes the primary one."""

    name: Name
    email: Email
    address: AddressIn | None = None
