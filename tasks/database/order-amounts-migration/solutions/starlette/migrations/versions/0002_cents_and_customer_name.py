"""orders.amount (legacy euro text) becomes amount_cents (exact integer cents); cust_name is
renamed customer_name.

Style: the conversion runs in Python, on rows read in batches through a server-side cursor and
copied back in through a temporary table, with integer arithmetic on the text's digits (no float, no
Decimal). The downgrade goes the same way in reverse and writes the canonical "12.50".

Revision ID: 0002
Revises: 0001
"""

import re
from collections.abc import Callable, Iterator
from typing import Any

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BATCH = 20_000
LEGACY = re.compile(r" *([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]{1,2}))? *")
FORMAT_CHECK = r"amount ~ '^ *([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]{1,2})? *$'"


def legacy_to_cents(text: str) -> int:
    """ "1,234.5" -> 123450, "0.05" -> 5, " 7 " -> 700; anything else is an error."""
    match = LEGACY.fullmatch(text)
    if match is None:
        raise ValueError(f"not a legacy amount: {text!r}")
    whole, fraction = match.group(1).replace(",", ""), match.group(2) or ""
    return int(whole) * 100 + int(fraction.ljust(2, "0"))


def cents_to_text(cents: int) -> str:
    """123450 -> "1234.50", 5 -> "0.05", 0 -> "0.00"."""
    return f"{cents // 100}.{cents % 100:02d}"


def _driver() -> Any:
    """The psycopg connection under alembic's, in alembic's transaction."""
    return op.get_bind().connection.driver_connection


def _rows(conn: Any, column: str) -> Iterator[list[tuple[int, Any]]]:
    """(id, value) of every order, in batches, through a server-side cursor."""
    with conn.cursor(name="orders_migration") as cur:
        cur.itersize = BATCH
        cur.execute(f"SELECT id, {column} FROM orders ORDER BY id")
        while batch := cur.fetchmany(BATCH):
            yield batch


def _convert(source: str, target: str, target_type: str, convert: Callable[[Any], Any]) -> None:
    """Fill the new column `target` from `source` with `convert`, through a temporary table."""
    conn = _driver()
    conn.execute(f"CREATE TEMPORARY TABLE converted (id BIGINT PRIMARY KEY, value {target_type})"
                 " ON COMMIT DROP")  # fmt: skip
    # read everything first: a connection runs one command at a time, and COPY is one
    converted = [(key, convert(value)) for batch in _rows(conn, source) for key, value in batch]
    with conn.cursor() as out, out.copy("COPY converted (id, value) FROM STDIN") as copy:
        for row in converted:
            copy.write_row(row)
    conn.execute(f"UPDATE orders SET {target} = c.value FROM converted AS c WHERE c.id = orders.id")
    conn.execute("DROP TABLE converted")


def upgrade() -> None:
    op.execute("ALTER TABLE orders RENAME COLUMN cust_name TO customer_name")
    op.execute("ALTER TABLE orders ADD COLUMN amount_cents BIGINT")
    _convert("amount", "amount_cents", "BIGINT", legacy_to_cents)
    op.execute("ALTER TABLE orders ALTER COLUMN amount_cents SET NOT NULL")
    op.execute("ALTER TABLE orders DROP COLUMN amount")  # its format check goes with it
    op.execute("ALTER TABLE orders ADD CONSTRAINT orders_cents_not_negative"
               " CHECK (amount_cents >= 0)")  # fmt: skip


def downgrade() -> None:
    op.execute("ALTER TABLE orders ADD COLUMN amount TEXT")
    _convert("amount_cents", "amount", "TEXT", cents_to_text)
    op.execute("ALTER TABLE orders ALTER COLUMN amount SET NOT NULL")
    op.execute("ALTER TABLE orders DROP COLUMN amount_cents")
    op.execute(f"ALTER TABLE orders ADD CONSTRAINT orders_amount_format CHECK ({FORMAT_CHECK})")
    op.execute("ALTER TABLE orders RENAME COLUMN customer_name TO cust_name")
