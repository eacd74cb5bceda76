"""migration_down: after the downgrade command, every seeded row is back in revision 0001's
shape, in revision 0001's schema. `seed` is the scenario's seed.py, placed beside this file."""

from __future__ import annotations

from typing import TYPE_CHECKING

import psycopg
import pytest
import seed

if TYPE_CHECKING:
    from backbench.testkit.database import KitConnection

# information_schema's (column, data type, nullable) of orders at revision 0001
ORDERS_0001 = [
    ("id", "bigint", "NO"),
    ("cust_name", "text", "NO"),
    ("amount", "text", "NO"),
]
# what orders_amount_format accepted at revision 0001, and what it refused
ACCEPTED = ["0", "12.50", "12.5", "  7 ", "1,234.00", "007.10", "12,345,678.9", "0.05"]
REFUSED = [
    "", " ", "12.", ".5", "12.505", "1,23", "1,2345", "12,34.00", "-1", "+1", "1e3", "12,50",
    "€12", "12 .50", "\t12", "1 234", "12.50 EUR",
]  # fmt: skip
CANONICAL = r"^(0|[1-9][0-9]*)\.[0-9]{2}$"
INSERT = "INSERT INTO orders (cust_name, amount) VALUES (%s, %s)"


class Refused(Exception):
    """Rolls back an insert the database accepted."""


def insert_is_refused(db: KitConnection, amount: str) -> bool:
    """Whether the database refuses an order of this amount; nothing is kept either way."""
    try:
        with db.transaction():
            db.execute(INSERT, ("down check", amount))
            raise Refused
    except psycopg.errors.IntegrityError:
        return True
    except Refused:
        return False


@pytest.mark.rules("migrate-down-schema")
def test_orders_has_the_columns_of_revision_0001_and_alembic_is_at_0001(
    db: KitConnection,
) -> None:
    """orders has exactly revision 0001's columns, types and nullability; version 0001."""
    rows = db.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = 'orders'"
    ).fetchall()
    assert sorted(rows) == sorted(ORDERS_0001), rows
    versions = [v for (v,) in db.execute("SELECT version_num FROM alembic_version").fetchall()]
    assert versions == ["0001"], f"alembic_version holds {versions}"


@pytest.mark.rules("migrate-down-check")
def test_the_amount_format_check_refuses_what_it_refused_at_0001(db: KitConnection) -> None:
    """orders_amount_format is back: the legacy shapes are accepted, nothing else is."""
    assert "orders_amount_format" in db.constraints("orders"), db.constraints("orders")
    wrongly_refused = [a for a in ACCEPTED if insert_is_refused(db, a)]
    assert not wrongly_refused, f"refused legacy amounts {wrongly_refused}"
    accepted = [a for a in REFUSED if not insert_is_refused(db, a)]
    assert not accepted, f"accepted amounts revision 0001 refused: {accepted}"


@pytest.mark.rules("migrate-down-rows")
def test_every_seeded_order_is_back_with_its_name_and_its_canonical_amount(
    db: KitConnection,
) -> None:
    """Every seeded order: the same id and cust_name, and its cents written canonically."""
    expected = {row.id: (row.cust_name, seed.canonical(row.cents)) for row in seed.orders()}
    rows = db.execute(
        "SELECT id, cust_name, amount FROM orders WHERE id = ANY(%s)", (list(expected),)
    ).fetchall()
    got = {row[0]: (row[1], row[2]) for row in rows}
    wrong = [(key, value, got.get(key)) for key, value in expected.items() if got.get(key) != value]
    assert not wrong, f"{len(wrong)} of {len(expected)} seeded orders differ, e.g. {wrong[:5]}"


@pytest.mark.rules("migrate-down-rows")
def test_every_order_created_since_the_upgrade_is_back_in_canonical_form(
    db: KitConnection,
) -> None:
    """Orders the tests and the load made since the upgrade are written canonically too."""
    odd = db.execute(
        "SELECT id, amount FROM orders WHERE amount !~ %s ORDER BY id LIMIT 5", (CANONICAL,)
    ).fetchall()
    assert not odd, f"amounts not in the canonical form, e.g. {odd}"
