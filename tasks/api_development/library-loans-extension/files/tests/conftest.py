"""The app in-process on the database of DATABASE_URL (its schema is created as at start-up).

Tests share the database with whatever else uses it, so each one makes its own rows with
names no other test or run uses, and never assumes a table is empty.
"""

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

SECRET = os.environ.setdefault("APP_SECRET", "test-secret")

if not os.environ.get("DATABASE_URL"):
    pytest.exit("set DATABASE_URL to a PostgreSQL database the tests may write to", returncode=2)

from app.main import app  # noqa: E402  (after the environment is checked)


@pytest.fixture(scope="session")
def client() -> Iterator[TestClient]:
    """A client of the app; entering it runs the start-up, which creates the schema."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def auth() -> dict[str, str]:
    """The header every write needs."""
    return {"Authorization": f"Bearer {SECRET}"}


@pytest.fixture
def unique() -> Callable[[str], str]:
    """unique(prefix) -> a name no other test or run uses."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:12]}"
