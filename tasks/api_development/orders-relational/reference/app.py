"""Orders API over related PostgreSQL tables: customers, products, orders and order lines."""

import hmac
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Annotated, Any

import psycopg
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    StrictInt,
    StrictStr,
    field_validator,
)
from starlette.exceptions import HTTPException as StarletteHTTPException

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS products (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL,
    price NUMERIC(12, 2) NOT NULL CHECK (price > 0),
    stock INTEGER NOT NULL CHECK (stock >= 0)
);
CREATE TABLE IF NOT EXISTS orders (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    status TEXT NOT NULL DEFAULT 'placed',
    total NUMERIC(20, 2) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS orders_customer_newest
    ON orders (customer_id, created_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS order_items (
    order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no INTEGER NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    quantity INTEGER NOT NULL CHECK (quantity >= 1),
    unit_price NUMERIC(12, 2) NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX IF NOT EXISTS order_items_product ON order_items (product_id);
"""

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_ID = 2**63 - 1

pool = ConnectionPool(
    conninfo=os.environ.get("DATABASE_URL", ""),
    min_size=2,
    max_size=12,
    open=False,
    kwargs={"row_factory": dict_row},
)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """Open the pool and create the schema before serving; close the pool after."""
    pool.open(wait=True)
    with pool.connection() as conn:
        conn.execute(SCHEMA)
    yield
    pool.close()


app = FastAPI(title="Orders API", lifespan=lifespan)


class ApiError(Exception):
    """An error answered as {"error": {"code", "message"}} with the given status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_body(status: int, code: str, message: str) -> JSONResponse:
    """Build the shared error body."""
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


@app.exception_handler(ApiError)
async def handle_api_error(_request: Request, exc: ApiError) -> JSONResponse:
    """Answer an ApiError with its status and code."""
    return error_body(exc.status, exc.code, exc.message)


@app.exception_handler(RequestValidationError)
async def handle_validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """Answer every request validation failure as 422 validation_error."""
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    return error_body(422, "validation_error", f"{where}: {first.get('msg', 'invalid request')}")


@app.exception_handler(StarletteHTTPException)
async def handle_http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Answer routing errors (unknown path, wrong method) with the shared body."""
    if exc.status_code == 400:
        # a body the framework cannot even decode (not UTF-8) is invalid input: 422
        return error_body(422, "validation_error", str(exc.detail))
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_body(exc.status_code, code, str(exc.detail))


@app.middleware("http")
async def require_bearer_token(request: Request, call_next: Any) -> Response:
    """Refuse every request but /health that lacks the bearer APP_SECRET."""
    if request.url.path != "/health":
        secret = os.environ.get("APP_SECRET", "")
        given = request.headers.get("authorization", "")
        expected = f"Bearer {secret}"
        if not secret or not hmac.compare_digest(given.encode(), expected.encode()):
            return error_body(401, "unauthorized", "missing or invalid bearer token")
    return await call_next(request)


def parse_id(raw: str) -> int:
    """Turn a path id into an int; anything that cannot name a row is 404."""
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1 or int(raw) > MAX_ID:
        raise ApiError(404, "not_found", "no such resource")
    return int(raw)


def money(value: Decimal) -> str:
    """Format an amount with exactly two decimals."""
    return f"{value:.2f}"


def _no_nul(value: str) -> str:
    """Refuse text PostgreSQL cannot store."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _a_number(value: Any) -> Any:
    """Money is a JSON number: refuse strings and booleans before Decimal would take them."""
    if isinstance(value, str | bool):
        raise ValueError("must be a number")
    return value


def _not_blank(value: str) -> str:
    """Refuse names made only of whitespace."""
    if not value.strip():
        raise ValueError("name must not be blank")
    return value


Name = Annotated[
    StrictStr, Field(min_length=1, max_length=200), AfterValidator(_not_blank), AfterValidator(_no_nul)
]


class CustomerIn(BaseModel):
    """Body of POST /customers."""

    email: Annotated[StrictStr, Field(max_length=254), AfterValidator(_no_nul)]
    name: Name

    @field_validator("email")
    @classmethod
    def email_format(cls, value: str) -> str:
        """Accept only addresses shaped like local@domain.tld."""
        if not EMAIL_RE.fullmatch(value):
            raise ValueError("email must look like local@domain.tld")
        return value


class ProductIn(BaseModel):
    """Body of POST /products."""

    name: Name
    price: Annotated[Decimal, BeforeValidator(_a_number), Field(gt=0, le=1_000_000, decimal_places=2)]
    stock: Annotated[StrictInt, Field(ge=0, le=1_000_000)]


class OrderLineIn(BaseModel):
    """One line of POST /orders."""

    product_id: Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
    quantity: Annotated[StrictInt, Field(ge=1, le=1_000_000)]


class OrderIn(BaseModel):
    """Body of POST /orders."""

    customer_id: Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
    items: Annotated[list[OrderLineIn], Field(min_length=1, max_length=100)]


Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0)]


def product_out(row: dict[str, Any]) -> dict[str, Any]:
    """Shape a product row for JSON."""
    return {
        "id": row["id"],
        "name": row["name"],
        "price": money(row["price"]),
        "stock": row["stock"],
    }


def order_out(order: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Shape an order row and its lines for JSON."""
    return {
        "id": order["id"],
        "customer_id": order["customer_id"],
        "status": order["status"],
        "items": [
            {
                "product_id": line["product_id"],
                "quantity": line["quantity"],
                "unit_price": money(line["unit_price"]),
            }
            for line in lines
        ],
        "total": money(order["total"]),
        "created_at": order["created_at"].isoformat(),
    }


def load_orders(conn: psycopg.Connection, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Attach their lines to the given order rows, keeping the rows' order."""
    if not orders:
        return []
    lines = conn.execute(
        "SELECT order_id, product_id, quantity, unit_price FROM order_items"
        " WHERE order_id = ANY(%s) ORDER BY order_id, line_no",
        ([order["id"] for order in orders],),
    ).fetchall()
    by_order: dict[int, list[dict[str, Any]]] = {order["id"]: [] for order in orders}
    for line in lines:
        by_order[line["order_id"]].append(line)
    return [order_out(order, by_order[order["id"]]) for order in orders]


@app.get("/health")
def health() -> dict[str, str]:
    """Report readiness."""
    return {"status": "ok"}


@app.post("/customers", status_code=201)
def create_customer(body: CustomerIn) -> dict[str, Any]:
    """Create a customer; a taken email is 409 conflict."""
    try:
        with pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO customers (email, name) VALUES (%s, %s) RETURNING id, email, name",
                (body.email, body.name),
            ).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise ApiError(409, "conflict", "a customer with this email already exists") from exc
    return dict(row)


@app.get("/customers")
def list_customers(limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    """List customers by id, one page at a time."""
    with pool.connection() as conn:
        total = conn.execute("SELECT count(*) AS n FROM customers").fetchone()["n"]
        rows = conn.execute(
            "SELECT id, email, name FROM customers ORDER BY id LIMIT %s OFFSET %s", (limit, offset)
        ).fetchall()
    return {"items": rows, "total": total}


@app.get("/customers/{customer_id}")
def get_customer(customer_id: str) -> dict[str, Any]:
    """Fetch one customer."""
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT id, email, name FROM customers WHERE id = %s", (parse_id(customer_id),)
        ).fetchone()
    if row is None:
        raise ApiError(404, "not_found", "customer not found")
    return dict(row)


@app.delete("/customers/{customer_id}", status_code=204)
def delete_customer(customer_id: str) -> Response:
    """Delete a customer who has no orders."""
    try:
        with pool.connection() as conn:
            deleted = conn.execute(
                "DELETE FROM customers WHERE id = %s", (parse_id(customer_id),)
            ).rowcount
    except psycopg.errors.ForeignKeyViolation as exc:
        raise ApiError(409, "conflict", "customer has orders") from exc
    if deleted == 0:
        raise ApiError(404, "not_found", "customer not found")
    return Response(status_code=204)


@app.get("/customers/{customer_id}/orders")
def list_customer_orders(customer_id: str) -> dict[str, Any]:
    """List a customer's orders, newest first."""
    cid = parse_id(customer_id)
    with pool.connection() as conn:
        if conn.execute("SELECT 1 FROM customers WHERE id = %s", (cid,)).fetchone() is None:
            raise ApiError(404, "not_found", "customer not found")
        orders = conn.execute(
            "SELECT id, customer_id, status, total, created_at FROM orders"
            " WHERE customer_id = %s ORDER BY created_at DESC, id DESC",
            (cid,),
        ).fetchall()
        items = load_orders(conn, orders)
    return {"items": items, "total": len(items)}


@app.post("/products", status_code=201)
def create_product(body: ProductIn) -> dict[str, Any]:
    """Create a product."""
    with pool.connection() as conn:
        row = conn.execute(
            "INSERT INTO products (name, price, stock) VALUES (%s, %s, %s)"
            " RETURNING id, name, price, stock",
            (body.name, body.price, body.stock),
        ).fetchone()
    return product_out(row)


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` literally anywhere in the value."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@app.get("/products")
def list_products(
    name: Annotated[str | None, Query(max_length=200), AfterValidator(lambda v: v and _no_nul(v))] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """List products by id, optionally filtered by a name substring."""
    params = {"pattern": like_pattern(name) if name else None, "limit": limit, "offset": offset}
    with pool.connection() as conn:
        total = conn.execute(
            "SELECT count(*) AS n FROM products"
            " WHERE %(pattern)s::text IS NULL OR name ILIKE %(pattern)s",
            params,
        ).fetchone()["n"]
        rows = conn.execute(
            "SELECT id, name, price, stock FROM products"
            " WHERE %(pattern)s::text IS NULL OR name ILIKE %(pattern)s"
            " ORDER BY id LIMIT %(limit)s OFFSET %(offset)s",
            params,
        ).fetchall()
    return {"items": [product_out(row) for row in rows], "total": total}


@app.get("/products/{product_id}")
def get_product(product_id: str) -> dict[str, Any]:
    """Fetch one product."""
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT id, name, price, stock FROM products WHERE id = %s", (parse_id(product_id),)
        ).fetchone()
    if row is None:
        raise ApiError(404, "not_found", "product not found")
    return product_out(row)


def reserve_stock(conn: psycopg.Connection, pid: int, quantity: int) -> Decimal:
    """Take `quantity` units of a product in one atomic step; return its current price."""
    row = conn.execute(
        "UPDATE products SET stock = stock - %s WHERE id = %s AND stock >= %s RETURNING price",
        (quantity, pid, quantity),
    ).fetchone()
    if row is None:
        raise ApiError(409, "insufficient_stock", f"not enough stock for product {pid}")
    return row["price"]


@app.post("/orders", status_code=201)
def create_order(body: OrderIn) -> dict[str, Any]:
    """Place an order: all lines are reserved in one transaction, or none is."""
    wanted: dict[int, int] = {}
    for line in body.items:
        wanted[line.product_id] = wanted.get(line.product_id, 0) + line.quantity
    # The pool's connection context commits on success and rolls back on any error,
    # so a failing line leaves every product's stock as it was.
    with pool.connection() as conn:
        customer = conn.execute(
            "SELECT id FROM customers WHERE id = %s FOR KEY SHARE", (body.customer_id,)
        ).fetchone()
        if customer is None:
            raise ApiError(422, "validation_error", "customer_id: no such customer")
        found = conn.execute(
            "SELECT id FROM products WHERE id = ANY(%s)", (list(wanted),)
        ).fetchall()
        missing = set(wanted) - {row["id"] for row in found}
        if missing:
            raise ApiError(422, "validation_error", f"items: no such product {min(missing)}")
        prices: dict[int, Decimal] = {}
        for pid in sorted(wanted):  # one lock order for every order, so no deadlocks
            prices[pid] = reserve_stock(conn, pid, wanted[pid])
        total = sum((prices[line.product_id] * line.quantity for line in body.items), Decimal(0))
        order = conn.execute(
            "INSERT INTO orders (customer_id, total) VALUES (%s, %s)"
            " RETURNING id, customer_id, status, total, created_at",
            (body.customer_id, total),
        ).fetchone()
        lines = [
            {
                "product_id": line.product_id,
                "quantity": line.quantity,
                "unit_price": prices[line.product_id],
            }
            for line in body.items
        ]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)"
                " VALUES (%s, %s, %s, %s, %s)",
                [
                    (order["id"], number, line["product_id"], line["quantity"], line["unit_price"])
                    for number, line in enumerate(lines, start=1)
                ],
            )
    return order_out(order, lines)


@app.get("/orders/{order_id}")
def get_order(order_id: str) -> dict[str, Any]:
    """Fetch one order with its lines."""
    with pool.connection() as conn:
        order = conn.execute(
            "SELECT id, customer_id, status, total, created_at FROM orders WHERE id = %s",
            (parse_id(order_id),),
        ).fetchone()
        if order is None:
            raise ApiError(404, "not_found", "order not found")
        return load_orders(conn, [order])[0]
