"""Create the items table.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``items`` with its constraints and the indexes the listing sorts on."""
    op.create_table(
        "items",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("sku", sa.String(64), nullable=True),
        sa.Column("price", sa.Numeric, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.UniqueConstraint("name", name="uq_items_name"),
        sa.CheckConstraint("price > 0", name="ck_items_price_positive"),
        sa.CheckConstraint("quantity >= 0", name="ck_items_quantity_not_negative"),
    )
    op.create_index("ix_items_created_at_id", "items", ["created_at", "id"])
    op.create_index("ix_items_price_id", "items", ["price", "id"])


def downgrade() -> None:
    """Drop ``items``."""
    op.drop_table("items")
