"""Tables (SQLAlchemy Core) and the engine."""

import os

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    create_engine,
    func,
)

metadata = MetaData()

warehouses = Table(
    "warehouses",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("address", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

products = Table(
    "products",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("sku", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("price", Numeric(18, 2, asdecimal=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("price >= 0", name="products_price_not_negative"),
)

stock_movements = Table(
    "stock_movements",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("warehouse_id", BigInteger, ForeignKey("warehouses.id"), nullable=False, index=True),
    Column("product_id", BigInteger, ForeignKey("products.id"), nullable=False, index=True),
    Column("quantity", Integer, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("occurred_utc_offset_seconds", Integer, nullable=False),
    Column("note", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# parents before children: the order rows go in, and the reverse is the order they go out
ORDERED = (warehouses, products, stock_movements)


def database_url() -> str:
    url = os.environ["DATABASE_URL"]
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


engine = create_engine(
    database_url(),
    pool_size=8,
    max_overflow=4,
    pool_pre_ping=True,
    connect_args={"options": "-c timezone=UTC"},
)


def create_tables() -> None:
    metadata.create_all(engine)


if __name__ == "__main__":
    create_tables()
