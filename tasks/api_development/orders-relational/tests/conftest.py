import os
import uuid

import httpx
import pytest

BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8000")
APP_SECRET = os.environ.get("APP_SECRET", "")


@pytest.fixture
def base_url():
    return BASE_URL


@pytest.fixture
def auth_headers():
    return {"Authorization": f"Bearer {APP_SECRET}"}


@pytest.fixture
def client(auth_headers):
    with httpx.Client(base_url=BASE_URL, headers=auth_headers, timeout=10.0) as c:
        yield c


@pytest.fixture
def anon_client():
    with httpx.Client(base_url=BASE_URL, timeout=10.0) as c:
        yield c


@pytest.fixture
def make_customer(client):
    def _make(name="Customer"):
        email = f"c-{uuid.uuid4().hex}@example.com"
        r = client.post("/customers", json={"email": email, "name": name})
        assert r.status_code == 201, r.text
        return r.json()

    return _make


@pytest.fixture
def make_product(client):
    def _make(price=10.0, stock=10, name=None):
        name = name or f"product-{uuid.uuid4().hex}"
        r = client.post("/products", json={"name": name, "price": price, "stock": stock})
        assert r.status_code == 201, r.text
        return r.json()

    return _make
