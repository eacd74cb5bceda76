"""Create customers, products, orders and order_items.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True)


def upgrade() -> None:
    """Create the four tables and their foreign keys."""
    op.create_table(
        "customers",
        _id(),
        sa.Column("email", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
    )
    op.create_table(
        "products",
        _id(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("stock", sa.Integer, nullable=False),
        sa.CheckConstraint("price > 0", name="products_price_positive"),
        sa.CheckConstraint("stock >= 0", name="products_stock_not_negative"),
    )
    op.create_table(
        "orders",
        _id(),
        sa.Column("customer_id", sa.BigInteger,
                  sa.ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False, index=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("total", sa.Numeric(20, 2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.clock_timestamp()),
    )  # fmt: skip
    op.create_table(
        "order_items",
        _id(),
        sa.Column("order_id", sa.BigInteger, sa.ForeignKey("orders.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("product_id", sa.BigInteger, sa.ForeignKey("products.id"), nullable=False,
                  index=True),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price", sa.Numeric(12, 2), nullable=False),
    )  # fmt: skip


def downgrade() -> None:
    """Drop the four tables."""
    for table in ("order_items", "orders", "products", "customers"):
        op.drop_table(table)
