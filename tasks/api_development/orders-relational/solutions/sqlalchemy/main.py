"""Orders API: FastAPI with the SQLAlchemy 2.x ORM (sync sessions over psycopg 3).

Style: declarative ORM models (models.py) whose schema an alembic migration creates, strict
pydantic models for bodies parsed from exact JSON (schemas.py), sync endpoints run in FastAPI's
thread pool, one session per request as a dependency, and typed errors (errors.py) rendered by
exception handlers.
"""

import hmac
import json
import os
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import errors as pg_errors
from pydantic import AfterValidator, BaseModel, ValidationError
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

import orders
from database import get_session
from errors import ApiError, Conflict, Invalid, NotFound, error_body
from models import Customer, Order, Product
from schemas import (
    MAX_BIGINT,
    CustomerIn,
    CustomerOut,
    OrderIn,
    OrderOut,
    Page,
    ProductIn,
    ProductOut,
    storable,
)

SECRET = os.environ.get("APP_SECRET", "")
Model = TypeVar("Model", bound=BaseModel)
DB = Annotated[Session, Depends(get_session)]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0)]
NameFilter = Annotated[str, Query(max_length=200), AfterValidator(storable)]

app = FastAPI(
    title="Orders API", docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False
)


# --- plumbing ----------------------------------------------------------------------------


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _first_error(exc: ValidationError | RequestValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


async def _json(request: Request) -> Any:
    """The body as JSON, floats as exact Decimals; only application/json is accepted."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise Invalid("the body must be sent as application/json")
    try:
        return json.loads(await request.body(), parse_float=Decimal,
                          parse_constant=_reject_constant)  # fmt: skip
    except (ValueError, RecursionError) as exc:
        raise Invalid("the body is not valid JSON") from exc


def body(model: type[Model]) -> Callable[[Request], Awaitable[Model]]:
    """A dependency validating the JSON body against `model`."""

    async def parse(request: Request) -> Model:
        try:
            return model.model_validate(await _json(request))
        except ValidationError as exc:
            raise Invalid(_first_error(exc)) from exc

    return parse


def path_id(id: str) -> int | None:
    """The {id} path segment as a positive bigint, or None when it cannot name a row."""
    if not (id.isascii() and id.isdigit()) or len(id) > 19 or not 0 < int(id) <= MAX_BIGINT:
        return None
    return int(id)


PathId = Annotated[int | None, Depends(path_id)]


def _existing(session: Session, model: type, row_id: int | None, what: str) -> Any:
    row = session.get(model, row_id) if row_id is not None else None
    if row is None:
        raise NotFound(f"no such {what}")
    return row


def _page(session: Session, query: Select, limit: int, offset: int) -> dict[str, Any]:
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    items = session.scalars(query.limit(limit).offset(min(offset, MAX_BIGINT))).all()
    return {"items": items, "total": total}


# --- errors and authentication -----------------------------------------------------------


@app.exception_handler(ApiError)
async def api_error(request: Request, exc: ApiError) -> JSONResponse:
    return error_body(exc.status, exc.code, exc.message)


@app.exception_handler(RequestValidationError)
async def request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    return error_body(422, "validation_error", _first_error(exc))


@app.exception_handler(HTTPException)
async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    response = error_body(exc.status_code, code, str(exc.detail))
    response.headers.update(exc.headers or {})
    return response


@app.exception_handler(Exception)
async def server_error(request: Request, exc: Exception) -> JSONResponse:
    return error_body(500, "internal_error", "unexpected server error")


def _bearer_ok(header: str | None) -> bool:
    scheme, _, token = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), SECRET.encode())


@app.middleware("http")
async def require_bearer(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Every path but /health needs the bearer token, checked before anything else."""
    if request.url.path != "/health" and not _bearer_ok(request.headers.get("authorization")):
        return error_body(401, "unauthorized", "missing or wrong bearer token")
    return await call_next(request)


# --- endpoints ---------------------------------------------------------------------------


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/customers", status_code=201, response_model=CustomerOut)
def create_customer(session: DB, data: Annotated[CustomerIn, Depends(body(CustomerIn))]) -> Any:
    customer = Customer(email=data.email, name=data.name)
    session.add(customer)
    try:
        session.commit()
    except IntegrityError as exc:
        if isinstance(exc.orig, pg_errors.UniqueViolation):
            raise Conflict("this email is already used") from exc
        raise
    return customer


@app.get("/customers", response_model=Page[CustomerOut])
def list_customers(session: DB, limit: Limit = 50, offset: Offset = 0) -> Any:
    return _page(session, select(Customer).order_by(Customer.id), limit, offset)


@app.get("/customers/{id}", response_model=CustomerOut)
def get_customer(session: DB, customer_id: PathId) -> Any:
    return _existing(session, Customer, customer_id, "customer")


@app.delete("/customers/{id}", status_code=204)
def delete_customer(session: DB, customer_id: PathId) -> Response:
    customer = _existing(session, Customer, customer_id, "customer")
    has_orders = select(Order.id).where(Order.customer_id == customer.id).limit(1)
    if session.scalar(has_orders) is not None:
        raise Conflict("the customer has orders")
    session.delete(customer)
    try:
        session.commit()
    except IntegrityError as exc:  # an order arrived meanwhile
        raise Conflict("the customer has orders") from exc
    return Response(status_code=204)


@app.get("/customers/{id}/orders", response_model=Page[OrderOut])
def customer_orders(session: DB, customer_id: PathId) -> Any:
    customer = _existing(session, Customer, customer_id, "customer")
    query = (
        select(Order)
        .where(Order.customer_id == customer.id)
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    items = session.scalars(query).all()
    return {"items": items, "total": len(items)}


@app.post("/products", status_code=201, response_model=ProductOut)
def create_product(session: DB, data: Annotated[ProductIn, Depends(body(ProductIn))]) -> Any:
    product = Product(name=data.name, price=data.price, stock=data.stock)
    session.add(product)
    session.commit()
    return product


@app.get("/products", response_model=Page[ProductOut])
def list_products(session: DB, name: NameFilter = "", limit: Limit = 50, offset: Offset = 0) -> Any:
    query = select(Product).order_by(Product.id)
    if name:
        query = query.where(Product.name.icontains(name, autoescape=True))
    return _page(session, query, limit, offset)


@app.get("/products/{id}", response_model=ProductOut)
def get_product(session: DB, product_id: PathId) -> Any:
    return _existing(session, Product, product_id, "product")


@app.post("/orders", status_code=201, response_model=OrderOut)
def place_order(session: DB, data: Annotated[OrderIn, Depends(body(OrderIn))]) -> Any:
    return orders.place_order(session, data)


@app.get("/orders/{id}", response_model=OrderOut)
def get_order(session: DB, order_id: PathId) -> Any:
    return _existing(session, Order, order_id, "order")
