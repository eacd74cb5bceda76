"""Request validation with pydantic: strict JSON types, bounded strings and numbers."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

MAX_QUANTITY = 2_147_483_647


def _text(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded as UTF-8.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as ex:
        raise ValueError("must be valid Unicode text") from ex
    return value


def _json_integer(value: Any) -> Any:
    """Integers as JSON Schema sees them: 3 and 3.0 are integers; true, 3.5 and "3" are not."""
    if isinstance(value, bool):
        raise ValueError("must be an integer")
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _json_number(value: Any) -> Any:
    """Any finite JSON number, as a float; booleans and strings are not numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    try:
        number = float(value)
    except OverflowError as ex:
        raise ValueError("is out of range") from ex
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return number


Name = Annotated[str, Field(strict=True, min_length=1, max_length=100), AfterValidator(_text)]
Sku = Annotated[str, Field(strict=True, min_length=1, max_length=64), AfterValidator(_text)]
Price = Annotated[float, BeforeValidator(_json_number), Field(gt=0)]
Quantity = Annotated[int, BeforeValidator(_json_integer), Field(strict=True, ge=0, le=MAX_QUANTITY)]


class ItemCreate(BaseModel):
    """Body of POST /v1/items; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    name: Name
    sku: Sku | None = None
    price: Price
    quantity: Quantity


class ItemUpdate(BaseModel):
    """Body of PATCH /v1/items/{id}: every field optional, only `sku` nullable."""

    model_config = ConfigDict(extra="ignore")

    name: Name | None = None
    sku: Sku | None = None
    price: Price | None = None
    quantity: Quantity | None = None

    @model_validator(mode="after")
    def _only_sku_is_nullable(self) -> ItemUpdate:
        for field in ("name", "price", "quantity"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} must not be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, by name."""
        return self.model_dump(include=self.model_fields_set)
