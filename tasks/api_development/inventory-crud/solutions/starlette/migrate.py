"""Create the database schema; run once by start.sh before the workers start."""

import asyncio

import asyncpg

from settings import database_dsn

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       varchar(100) COLLATE "C" NOT NULL,
    sku        varchar(64),
    price      double precision NOT NULL CHECK (price > 0),
    quantity   integer NOT NULL CHECK (quantity >= 0),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT items_name_key UNIQUE (name)
);
CREATE INDEX IF NOT EXISTS items_created_at_idx ON items (created_at, id);
CREATE INDEX IF NOT EXISTS items_price_idx ON items (price, id);
"""


async def connect(attempts: int = 20) -> asyncpg.Connection:
    """Connect to the database, waiting a little while it is not up yet."""
    for _ in range(attempts - 1):
        try:
            return await asyncpg.connect(database_dsn())
        except (OSError, asyncpg.CannotConnectNowError):
            await asyncio.sleep(0.5)
    return await asyncpg.connect(database_dsn())


async def migrate() -> None:
    """Apply the schema in one transaction."""
    conn = await connect()
    try:
        async with conn.transaction():
            await conn.execute(SCHEMA)
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(migrate())
