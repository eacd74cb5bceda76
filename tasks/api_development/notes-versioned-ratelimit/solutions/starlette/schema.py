"""Create the notes table (idempotent); run once by start.sh before the workers start."""

import asyncio
import os

import asyncpg

DDL = """
CREATE TABLE IF NOT EXISTS notes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title       text        NOT NULL,
    body        text        NOT NULL,
    tags        text[]      NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
)
"""


async def create_schema(dsn: str) -> None:
    """Create the notes table if it is missing."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(DDL)
    finally:
        await connection.close()


if __name__ == "__main__":
    asyncio.run(create_schema(os.environ["DATABASE_URL"]))
