"""Pydantic models of the request bodies, query parameters and responses."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

INT32_MAX = 2_147_483_647


def _storable(text: str) -> str:
    """Refuse text PostgreSQL cannot store: NUL characters or unpaired surrogates."""
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    return text


Name = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_storable)]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_storable)]
Price = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Quantity = Annotated[int, Field(ge=0, le=INT32_MAX)]
SortKey = Literal["price", "-price", "name", "-name", "created_at", "-created_at"]


class ItemCreate(BaseModel):
    """Body of ``POST /v1/items``; JSON types are taken strictly (no "5" for 5)."""

    model_config = ConfigDict(strict=True, extra="ignore")

    name: Name
    sku: Sku | None = None
    price: Price
    quantity: Quantity


class ItemUpdate(BaseModel):
    """Body of ``PATCH /v1/items/{id}``: every field optional, only ``sku`` nullable."""

    model_config = ConfigDict(strict=True, extra="ignore")

    name: Name | None = None
    sku: Sku | None = None
    price: Price | None = None
    quantity: Quantity | None = None

    @field_validator("name", "price", "quantity", mode="before")
    @classmethod
    def present_means_not_null(cls, value: Any) -> Any:
        """Runs only for fields the client sent: those may not be ``null``."""
        if value is None:
            raise ValueError("may be omitted but not set to null")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, with their validated values."""
        return self.model_dump(include=self.model_fields_set)


class ListParams(BaseModel):
    """Query parameters of ``GET /v1/items``."""

    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0)
    name: str | None = None
    min_price: float | None = Field(None, allow_inf_nan=False)
    max_price: float | None = Field(None, allow_inf_nan=False)
    sort: SortKey = "created_at"


class ItemOut(BaseModel):
    """The item resource as answered."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    sku: str | None
    price: float
    quantity: int
    created_at: datetime


class ItemPage(BaseModel):
    """One page of the listing."""

    items: list[ItemOut]
    total: int
    limit: int
    offset: int
