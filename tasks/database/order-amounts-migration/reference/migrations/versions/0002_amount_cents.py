"""Amounts as exact integer cents, and cust_name renamed customer_name.

The upgrade converts every legacy amount text (spaces around, thousands separators, one, two
or no decimals) to its exact number of cents with numeric arithmetic, never a float, in one
rewrite of the table; the rename keeps every name. The downgrade writes each amount back in
the canonical form (plain euros, ".", two digits of cents: 1250 -> "12.50"), which revision
0001's format check accepts, and restores the old name and the check.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

AMOUNT_FORMAT = r"^ *([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]{1,2})? *$"


def upgrade() -> None:
    # a rename keeps every value, and the index on the column (orders_cust_name_idx) with it
    op.execute("ALTER TABLE orders RENAME COLUMN cust_name TO customer_name")
    op.execute("ALTER TABLE orders DROP CONSTRAINT orders_amount_format")
    # numeric is exact: "19.99" is 1999 cents, "0.5" 50, "9,999,999,999,999,999.99" 10^18 - 1
    op.execute(
        """
        ALTER TABLE orders
            ALTER COLUMN amount TYPE BIGINT
            USING (replace(btrim(amount, ' '), ',', '')::numeric * 100)::bigint
        """
    )
    op.execute("ALTER TABLE orders RENAME COLUMN amount TO amount_cents")
    op.execute(
        "ALTER TABLE orders ADD CONSTRAINT orders_amount_cents_range CHECK (amount_cents >= 0)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE orders DROP CONSTRAINT orders_amount_cents_range")
    # integer arithmetic, no float: 1250 -> "12.50", 5 -> "0.05", 0 -> "0.00"
    op.execute(
        """
        ALTER TABLE orders
            ALTER COLUMN amount_cents TYPE TEXT
            USING (amount_cents / 100)::text || '.' || lpad((amount_cents % 100)::text, 2, '0')
        """
    )
    op.execute("ALTER TABLE orders RENAME COLUMN amount_cents TO amount")
    op.execute(
        f"ALTER TABLE orders ADD CONSTRAINT orders_amount_format CHECK (amount ~ '{AMOUNT_FORMAT}')"
    )
    op.execute("ALTER TABLE orders RENAME COLUMN customer_name TO cust_name")
