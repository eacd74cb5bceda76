"""Stopping and starting a sample's own PostgreSQL, as a hidden test's `services` does."""

from __future__ import annotations

import psycopg
import pytest

from backbench.sandbox.services import SampleServices

pytestmark = pytest.mark.anyio


async def test_a_started_postgres_accepts_connections_when_start_returns(
    exec_services: SampleServices,
) -> None:
    for _ in range(2):
        await exec_services.stop_service("postgres")
        await exec_services.start_service("postgres")
        # no "the database system is starting up": the next test's connection must work
        with psycopg.connect(exec_services._admin_conninfo(), connect_timeout=5) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
