"""Move the customer's address into its own table, with alembic's operations and Python.

The table is declared through `op.create_table`; the rows are copied in batches read through
the migration's connection (each customer with a street gets one primary address, with the
same values), and the downgrade copies every primary address back the same way.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BATCH = 2000
COLUMNS = ("street", "city", "postal_code", "country")


def _batches(rows):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def upgrade() -> None:
    addresses = op.create_table(
        "addresses",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        sa.Column(
            "customer_id",
            sa.BigInteger,
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("street", sa.Text, nullable=False),
        sa.Column("city", sa.Text, nullable=False),
        sa.Column("postal_code", sa.Text),
        sa.Column("country", sa.Text, nullable=False),
        sa.Column("label", sa.Text),
        sa.Column("is_primary", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, street, city, postal_code, country FROM customers "
            "WHERE street IS NOT NULL ORDER BY id"
        )
    ).fetchall()
    for batch in _batches(rows):
        bind.execute(
            addresses.insert(),
            [
                {"customer_id": r.id, "street": r.street, "city": r.city,
                 "postal_code": r.postal_code, "country": r.country, "is_primary": True}
                for r in batch
            ],
        )
    op.create_index("addresses_customer_id_idx", "addresses", ["customer_id"])
    op.drop_constraint("customers_address_complete", "customers", type_="check")
    for column in COLUMNS:
        op.drop_column("customers", column)


def downgrade() -> None:
    for column in COLUMNS:
        op.add_column("customers", sa.Column(column, sa.Text, nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT customer_id, street, city, postal_code, country FROM addresses "
            "WHERE is_primary ORDER BY customer_id"
        )
    ).fetchall()
    update = sa.text(
        "UPDATE customers SET street = :street, city = :city, postal_code = :postal_code, "
        "country = :country WHERE id = :customer_id"
    )
    for batch in _batches(rows):
        bind.execute(update, [r._asdict() for r in batch])
    op.create_check_constraint(
        "customers_address_complete",
        "customers",
        "(street IS NULL) = (city IS NULL) AND (street IS NULL) = (country IS NULL) "
        "AND (street IS NOT NULL OR postal_code IS NULL)",
    )
    op.drop_table("addresses")
