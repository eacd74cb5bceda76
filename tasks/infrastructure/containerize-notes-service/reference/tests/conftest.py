"""Fixtures: the app in-process, on the database of DATABASE_URL, emptied before each test."""

import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

# The tests never need a real secret; a run that sets APP_SECRET uses its own.
os.environ.setdefault("APP_SECRET", "test-secret")


@pytest.fixture(scope="session")
def app_client() -> Iterator[TestClient]:
    """One client for the session: the app's start-up (pool, schema) runs once."""
    if not os.environ.get("DATABASE_URL"):
        # An error, not a skip: a run without a database must not pass.
        pytest.fail("DATABASE_URL is not set: the tests need a PostgreSQL database", pytrace=False)
    from app.main import app

    with TestClient(app) as client:
        yield client


@pytest.fixture
def client(app_client: TestClient) -> TestClient:
    """The client, with the notes table emptied so that every test starts alike."""
    with app_client.app.state.pool.connection() as conn:
        conn.execute("TRUNCATE notes")
    return app_client


@pytest.fixture
def auth() -> dict[str, str]:
    """The header that authorises writes."""
    return {"Authorization": f"Bearer {os.environ['APP_SECRET']}"}
