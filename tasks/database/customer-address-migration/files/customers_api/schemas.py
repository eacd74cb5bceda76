"""The request bodies, validated before anything reaches the database."""

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StrictStr, model_validator

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


class CustomerIn(BaseModel):
    """Body of POST /v1/customers: the address fields are all given, or none of them."""

    name: Name
    email: Email
    street: Street | None = None
    city: City | None = None
    postal_code: PostalCode | None = None
    country: Country | None = None

    @model_validator(mode="after")
    def _address_complete(self) -> "CustomerIn":
        given = [self.street is not None, self.city is not None, self.country is not None]
        if any(given) and not all(given):
            raise ValueError("street, city and country are given together, or not at all")
        if self.postal_code is not None and not any(given):
            raise ValueError("postal_code needs an address")
        return self
