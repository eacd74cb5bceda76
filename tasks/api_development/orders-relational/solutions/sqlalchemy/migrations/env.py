"""Alembic environment: migrate the database named by DATABASE_URL (online only)."""

from alembic import context
from sqlalchemy import create_engine

from database import database_url


def run_migrations() -> None:
    """Apply the migrations in one transaction."""
    engine = create_engine(database_url())
    with engine.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
