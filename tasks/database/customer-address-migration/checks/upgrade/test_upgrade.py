"""migration_up: after start.sh ran the upgrade, before any test, every seeded row is intact in
its new shape. `seed` is the scenario's seed.py, placed beside this file by the harness."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pytest
import seed

if TYPE_CHECKING:
    from backbench.testkit.database import KitConnection

OLD_FIELDS = ("street", "city", "postal_code", "country")
NEW_FIELDS = (
    "id",
    "customer_id",
    "street",
    "city",
    "postal_code",
    "country",
    "label",
    "is_primary",
)
Address = tuple[Any, ...]


def stored_addresses(db: KitConnection) -> dict[int, list[Address]]:
    """{customer id: [(street, city, postal_code, country, label, is_primary), ...]} by id."""
    rows = db.execute(
        "SELECT customer_id, street, city, postal_code, country, label, is_primary"
        " FROM addresses ORDER BY id"
    ).fetchall()
    by_customer: dict[int, list[Address]] = defaultdict(list)
    for customer_id, *address in rows:
        by_customer[customer_id].append(tuple(address))
    return by_customer


def differences(expected: dict[int, Any], got: dict[int, Any]) -> tuple[int, list[Any]]:
    """How many ids differ, and the first few as (id, expected, got) for the message."""
    found = [(key, value, got.get(key)) for key, value in expected.items() if got.get(key) != value]
    return len(found), found[:5]


@pytest.mark.rules("migrate-up-keeps-customers")
def test_every_seeded_customer_keeps_its_id_name_and_email(db: KitConnection) -> None:
    """Ids, names and emails of the seeded customers are as seeded."""
    expected = {row.id: (row.name, row.email) for row in seed.customers()}
    rows = db.execute(
        "SELECT id, name, email FROM customers WHERE id = ANY(%s)", (list(expected),)
    ).fetchall()
    count, sample = differences(expected, {row[0]: (row[1], row[2]) for row in rows})
    assert count == 0, f"{count} seeded customers changed or lost, e.g. {sample}"


@pytest.mark.rules("db-columns-removed", "db-addresses-table")
def test_the_address_columns_moved_to_the_addresses_table(db: KitConnection) -> None:
    """customers lost the four columns; addresses has the ones the prompt names."""
    left = set(db.columns("customers")) & set(OLD_FIELDS)
    assert not left, f"customers still has {sorted(left)}"
    columns = db.columns("addresses")
    missing = [name for name in NEW_FIELDS if name not in columns]
    assert not missing, f"addresses lacks {missing}: {columns}"
    assert columns["is_primary"] == "boolean", columns


@pytest.mark.rules("db-cascade")
def test_addresses_reference_customers_with_cascading_deletes(db: KitConnection) -> None:
    """One foreign key from addresses to customers, ON DELETE CASCADE."""
    rules = db.execute(
        "SELECT con.confdeltype FROM pg_constraint AS con"
        " WHERE con.contype = 'f' AND con.conrelid = 'addresses'::regclass"
        " AND con.confrelid = 'customers'::regclass"
    ).fetchall()
    assert [rule for (rule,) in rules] == ["c"], f"foreign keys to customers: {rules}"


@pytest.mark.rules("migrate-up-copy", "migrate-up-null-postal-code", "one-primary")
def test_each_seeded_address_is_its_customers_one_primary_address(db: KitConnection) -> None:
    """Exactly one address row per seeded address, the same values, label NULL, primary."""
    stored = stored_addresses(db)
    expected = {
        row.id: [(row.street, row.city, row.postal_code, row.country, None, True)]
        for row in seed.customers()
        if row.has_address
    }
    got = {customer_id: stored.get(customer_id, []) for customer_id in expected}
    count, sample = differences(expected, got)
    assert count == 0, f"{count} of {len(expected)} seeded addresses differ, e.g. {sample}"


@pytest.mark.rules("migrate-up-none")
def test_seeded_customers_without_address_have_no_address_row(db: KitConnection) -> None:
    """No address row for a customer seeded without an address."""
    stored = stored_addresses(db)
    wrong = [row.id for row in seed.customers() if not row.has_address and stored.get(row.id)]
    assert not wrong, f"{len(wrong)} customers without an address got one, e.g. {wrong[:5]}"


@pytest.mark.rules("migrate-up-copy", "migrate-start")
def test_alembic_is_past_revision_0001(db: KitConnection) -> None:
    """The upgrade ran: alembic's version is no longer 0001."""
    versions = [v for (v,) in db.execute("SELECT version_num FROM alembic_version").fetchall()]
    assert versions and "0001" not in versions, f"alembic_version holds {versions}"
