import os
import uuid

import httpx
import pytest

BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8000").rstrip("/")
APP_SECRET = os.environ.get("APP_SECRET", "")


@pytest.fixture(scope="session")
def http():
    with httpx.Client(base_url=BASE_URL, timeout=10.0) as client:
        yield client


@pytest.fixture
def new_headers():
    """Return a factory of auth headers, each with a never-used client id (a fresh budget)."""

    def make() -> dict:
        return {
            "Authorization": f"Bearer {APP_SECRET}",
            "X-Client-Id": f"test-{uuid.uuid4().hex}",
        }

    return make


@pytest.fixture
def headers(new_headers):
    """Auth headers with a client id private to this test (20 requests available)."""
    return new_headers()


@pytest.fixture
def token():
    """A unique marker to put in titles so filters only see this test's notes."""
    return uuid.uuid4().hex
