"""The connection pool and the schema, created at start-up."""

import os
from collections.abc import Iterator

import psycopg
from psycopg_pool import ConnectionPool

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email        text NOT NULL UNIQUE,
    api_key_hash text NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS products (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku         text NOT NULL UNIQUE,
    name        text NOT NULL,
    price_cents integer NOT NULL CHECK (price_cents > 0),
    stock       integer NOT NULL DEFAULT 0 CHECK (stock >= 0)
);
CREATE TABLE IF NOT EXISTS orders (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    status      text NOT NULL DEFAULT 'placed'
                CHECK (status IN ('placed', 'shipped', 'cancelled')),
    total_cents integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS orders_customer_id ON orders (customer_id, id);
CREATE TABLE IF NOT EXISTS order_lines (
    order_id         bigint NOT NULL REFERENCES orders (id),
    line_no          integer NOT NULL,
    product_id       bigint NOT NULL REFERENCES products (id),
    quantity         integer NOT NULL CHECK (quantity > 0),
    unit_price_cents integer NOT NULL,
    line_total_cents integer NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
"""

# autocommit: a single read needs no transaction; writes open one with conn.transaction()
pool = ConnectionPool(
    os.environ["DATABASE_URL"],
    min_size=1,
    max_size=10,
    kwargs={"autocommit": True},
    open=False,
)


def create_schema() -> None:
    """Create the tables the service needs, if they do not exist yet."""
    with pool.connection() as conn:
        conn.execute(SCHEMA)


def get_conn() -> Iterator[psycopg.Connection]:
    """A pooled connection for one request (a FastAPI dependency)."""
    with pool.connection(timeout=5) as conn:
        yield conn
