"""PostgreSQL access: one connection pool per worker process, and the schema."""

from __future__ import annotations

import click
import psycopg
from flask import Flask, current_app
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    sku         TEXT,
    price       DOUBLE PRECISION NOT NULL CHECK (price > 0),
    quantity    INTEGER NOT NULL CHECK (quantity >= 0),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS items_created_at_id ON items (created_at, id);
CREATE INDEX IF NOT EXISTS items_price_id ON items (price, id);
"""


def _configure(conn: psycopg.Connection) -> None:
    conn.execute("SET TIME ZONE 'UTC'")
    conn.commit()


def init_app(app: Flask) -> None:
    """Create the pool lazily (after gunicorn forks) and register the `init-db` command."""
    app.extensions["db_pool"] = ConnectionPool(
        app.config["DATABASE_URL"],
        min_size=2,
        max_size=10,
        kwargs={"row_factory": dict_row},
        configure=_configure,
        open=False,
    )
    app.cli.add_command(init_db_command)


def pool() -> ConnectionPool[psycopg.Connection[DictRow]]:
    """The current application's pool, opened on first use in this process."""
    pool_: ConnectionPool[psycopg.Connection[DictRow]] = current_app.extensions["db_pool"]
    pool_.open()  # thread-safe, and a no-op once the pool is open
    return pool_


@click.command("init-db")
def init_db_command() -> None:
    """Create the tables and indexes if they do not exist yet."""
    with psycopg.connect(current_app.config["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(SCHEMA)
    click.echo("schema ready")
