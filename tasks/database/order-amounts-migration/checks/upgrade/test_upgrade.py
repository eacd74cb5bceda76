"""migration_up: after start.sh ran the upgrade, before any test, every seeded row is intact in
its new shape. `seed` is the scenario's seed.py, placed beside this file by the harness."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import seed

if TYPE_CHECKING:
    from backbench.testkit.database import KitConnection


def differences(expected: dict[int, Any], got: dict[int, Any]) -> tuple[int, list[Any]]:
    """How many ids differ, and the first few as (id, expected, got) for the message."""
    found = [(key, value, got.get(key)) for key, value in expected.items() if got.get(key) != value]
    return len(found), found[:5]


def nullable(db: KitConnection, table: str, column: str) -> str:
    """Whether a column is nullable, as information_schema says it (YES or NO)."""
    return db.scalar(
        "SELECT is_nullable FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = %s AND column_name = %s",
        (table, column),
    )


@pytest.mark.rules("db-columns")
def test_orders_has_customer_name_and_amount_cents_and_not_the_old_columns(
    db: KitConnection,
) -> None:
    """customer_name TEXT NOT NULL and amount_cents BIGINT NOT NULL; cust_name, amount gone."""
    columns = db.columns("orders")
    assert columns.get("customer_name") == "text", columns
    assert columns.get("amount_cents") == "bigint", columns
    assert nullable(db, "orders", "customer_name") == "NO"
    assert nullable(db, "orders", "amount_cents") == "NO"
    left = set(columns) & {"cust_name", "amount"}
    assert not left, f"orders still has {sorted(left)}"


@pytest.mark.rules("migrate-up-names", "migrate-up-ids")
def test_every_seeded_order_keeps_its_id_and_its_name(db: KitConnection) -> None:
    """Every seeded id is there, with its cust_name as customer_name, character for character."""
    expected = {row.id: row.cust_name for row in seed.orders()}
    rows = db.execute(
        "SELECT id, customer_name FROM orders WHERE id = ANY(%s)", (list(expected),)
    ).fetchall()
    count, sample = differences(expected, dict(rows))
    assert count == 0, f"{count} of {len(expected)} seeded names changed or lost, e.g. {sample}"


@pytest.mark.rules("migrate-up-cents")
def test_every_seeded_amount_is_its_exact_number_of_cents(db: KitConnection) -> None:
    """amount_cents is the exact value of the legacy text, for every seeded order."""
    seeded = seed.orders()
    expected = {row.id: row.cents for row in seeded}
    texts = {row.id: row.amount for row in seeded}
    rows = db.execute(
        "SELECT id, amount_cents FROM orders WHERE id = ANY(%s)", (list(expected),)
    ).fetchall()
    count, sample = differences(expected, dict(rows))
    shown = [(key, texts[key], want, got) for key, want, got in sample]
    assert count == 0, (
        f"{count} of {len(expected)} seeded amounts differ, e.g. (id, text, cents, got) {shown}"
    )


@pytest.mark.rules("migrate-start")
def test_alembic_is_past_revision_0001(db: KitConnection) -> None:
    """The upgrade ran: alembic's version is no longer 0001."""
    versions = [v for (v,) in db.execute("SELECT version_num FROM alembic_version").fetchall()]
    assert versions and "0001" not in versions, f"alembic_version holds {versions}"
