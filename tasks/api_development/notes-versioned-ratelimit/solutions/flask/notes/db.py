"""PostgreSQL access: one connection pool per worker process, and the schema."""

from __future__ import annotations

import click
import psycopg
from flask import Flask, current_app
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id          BIGSERIAL PRIMARY KEY,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    tags        TEXT[] NOT NULL DEFAULT '{}',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
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
