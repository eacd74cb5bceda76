"""migration_down: after the downgrade command, every seeded row is back in revision 0001's
shape, in revision 0001's schema. `seed` is the scenario's seed.py, placed beside this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg
import pytest
import seed

if TYPE_CHECKING:
    from backbench.testkit.database import KitConnection

# information_schema's (column, data type, nullable) of customers at revision 0001
CUSTOMERS_0001 = [
    ("id", "bigint", "NO"),
    ("name", "text", "NO"),
    ("email", "text", "NO"),
    ("street", "text", "YES"),
    ("city", "text", "YES"),
    ("postal_code", "text", "YES"),
    ("country", "text", "YES"),
]
INSERT = (
    "INSERT INTO customers (name, email, street, city, postal_code, country)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)


class Refused(Exception):
    """Rolls back an insert the database accepted."""


def insert_is_refused(db: KitConnection, params: tuple[Any, ...]) -> bool:
    """Whether the database refuses to insert this customer; nothing is kept either way."""
    try:
        with db.transaction():
            db.execute(INSERT, params)
            raise Refused
    except psycopg.errors.IntegrityError:
        return True
    except Refused:
        return False


@pytest.mark.rules("migrate-down-schema")
def test_addresses_table_is_gone_and_alembic_is_at_0001(db: KitConnection) -> None:
    """The downgrade dropped addresses and set alembic's version back to 0001."""
    assert "addresses" not in db.tables(), db.tables()
    versions = [v for (v,) in db.execute("SELECT version_num FROM alembic_version").fetchall()]
    assert versions == ["0001"], f"alembic_version holds {versions}"


@pytest.mark.rules("migrate-down-schema")
def test_customers_has_the_columns_of_revision_0001(db: KitConnection) -> None:
    """customers has exactly revision 0001's columns, types and nullability."""
    rows = db.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = 'customers'"
    ).fetchall()
    assert sorted(rows) == sorted(CUSTOMERS_0001), rows


@pytest.mark.rules("migrate-down-schema")
def test_customers_enforces_its_constraints_of_revision_0001_again(db: KitConnection) -> None:
    """customers_address_complete and the unique email refuse what they refused at 0001."""
    probe = "down-probe-{}@checks.example"
    assert not insert_is_refused(db, ("Ok", probe.format(1), "1 Main St", "Paris", None, "FR"))
    assert not insert_is_refused(db, ("Ok", probe.format(2), None, None, None, None))
    for incomplete in (
        ("1 Main St", None, None, "FR"),
        ("1 Main St", "Paris", None, None),
        (None, "Paris", None, "FR"),
        (None, None, "75001", None),
    ):
        refused = insert_is_refused(db, ("No", probe.format(3), *incomplete))
        assert refused, f"customers_address_complete does not refuse {incomplete}"
    taken = seed.customers(1)[0].email
    assert insert_is_refused(db, ("Dup", taken, None, None, None, None)), "email is not unique"


@pytest.mark.rules("migrate-down-copy", "migrate-down-keeps-customers")
def test_every_seeded_customer_is_back_with_its_address(db: KitConnection) -> None:
    """Every seeded row, id to country, is as seeded: the primary address was copied back."""
    seeded = {row.id: tuple(row) for row in seed.customers()}
    rows = db.execute(
        "SELECT id, name, email, street, city, postal_code, country FROM customers"
        " WHERE id = ANY(%s)",
        (list(seeded),),
    ).fetchall()
    got = {row[0]: tuple(row) for row in rows}
    wrong = [(key, value, got.get(key)) for key, value in seeded.items() if got.get(key) != value]
    assert not wrong, f"{len(wrong)} of {len(seeded)} seeded customers differ, e.g. {wrong[:5]}"
