import os
import random
from uuid import uuid4

import httpx
import pytest

BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8000").rstrip("/")
APP_SECRET = os.environ.get("APP_SECRET", "")


@pytest.fixture()
def client():
    with httpx.Client(base_url=BASE_URL, timeout=10.0) as c:
        yield c


@pytest.fixture()
def auth():
    return {"Authorization": f"Bearer {APP_SECRET}"}


@pytest.fixture()
def unique_name():
    return lambda prefix="item": f"{prefix}-{uuid4().hex}"


@pytest.fixture()
def price_band():
    """A random price range no other test (or earlier run) is likely to use."""
    base = float(random.randint(10_000_000, 900_000_000))  # noqa: S311
    return base


@pytest.fixture()
def create_item(client, auth, unique_name):
    def _create(**fields):
        body = {"name": unique_name(), "price": 10.5, "quantity": 1}
        body.update(fields)
        r = client.post("/v1/items", json=body, headers=auth)
        assert r.status_code == 201, r.text
        return r.json()

    return _create
