"""Alembic environment: always online, against DATABASE_URL."""

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from inventory.models import Base
from inventory.settings import database_url


def run_migrations_online() -> None:
    """Apply the pending revisions in one transaction."""
    engine = create_engine(database_url(), poolclass=NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
