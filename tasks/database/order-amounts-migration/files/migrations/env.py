"""Alembic environment: migrations run online against $DATABASE_URL, in SQL (no models)."""

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool


def database_url() -> str:
    """DATABASE_URL for SQLAlchemy's psycopg 3 driver (postgresql:// names psycopg2)."""
    url = os.environ["DATABASE_URL"]
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def run_migrations_online() -> None:
    """Run the pending revisions in one transaction."""
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=False)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.config.config_file_name is not None:
    fileConfig(context.config.config_file_name)
if context.is_offline_mode():
    raise SystemExit("offline (--sql) mode is not supported: run against DATABASE_URL")
run_migrations_online()
