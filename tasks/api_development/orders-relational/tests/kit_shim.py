"""TEMPORARY stand-in for the test kit's fixtures (backbench.testkit), until it lands on main.

Deleted once the kit's pytest plugin provides api, authed_api, client_factory, unique and db.
"""

import os
import uuid

import httpx
import psycopg
import pytest


class KitConnection(psycopg.Connection):
    """A psycopg connection (autocommit) with the kit's schema helper."""

    def columns(self, table):
        rows = self.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
            (table,),
        ).fetchall()
        return {str(name): str(kind) for name, kind in rows}


@pytest.fixture
def base_url():
    return os.environ["BASE_URL"].rstrip("/")


@pytest.fixture
def auth_headers():
    return {"Authorization": f"Bearer {os.environ['APP_SECRET']}"}


@pytest.fixture
def app_secret():
    return os.environ["APP_SECRET"]


@pytest.fixture
def client_factory(base_url):
    made = []

    def make(base_url=None, headers=None, deadline=None):
        client = httpx.Client(
            base_url=base_url or default_url, headers=dict(headers or {}), timeout=deadline or 10.0
        )
        made.append(client)
        return client

    default_url = base_url
    yield make
    for client in made:
        client.close()


@pytest.fixture
def api(client_factory):
    return client_factory()


@pytest.fixture
def authed_api(client_factory, auth_headers):
    return client_factory(headers=auth_headers)


@pytest.fixture
def unique():
    def make(prefix="x"):
        return f"{prefix}-{uuid.uuid4().hex}"

    return make


@pytest.fixture
def db():
    url = os.environ.get("BACKBENCH_ADMIN_DATABASE_URL") or os.environ["DATABASE_URL"]
    conn = KitConnection.connect(url, autocommit=True, connect_timeout=10)
    try:
        yield conn
    finally:
        conn.close()
