"""TEMPORARY stand-in for the test kit's fixtures (backbench.testkit.plugin) until it lands.

Delete this file, and the imports of it, once the kit is loaded by the functional stage.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest


@pytest.fixture
def base_url() -> str:
    return os.environ.get("BASE_URL", "http://127.0.0.1:8000").rstrip("/")


@pytest.fixture
def auth_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {os.environ.get('APP_SECRET', '')}"}


@pytest.fixture
def app_secret() -> str:
    return os.environ.get("APP_SECRET", "")


@pytest.fixture
def client_factory(base_url: str) -> Iterator[Callable[..., httpx.Client]]:
    made: list[httpx.Client] = []

    def make(
        base_url: str | None = None,
        headers: dict[str, str] | None = None,
        deadline: float | None = None,
    ) -> httpx.Client:
        client = httpx.Client(
            base_url=base_url or default, headers=headers or {}, timeout=deadline or 10.0
        )
        made.append(client)
        return client

    default = base_url
    yield make
    for client in made:
        client.close()


@pytest.fixture
def api(client_factory: Callable[..., httpx.Client]) -> httpx.Client:
    return client_factory()


@pytest.fixture
def authed_api(
    client_factory: Callable[..., httpx.Client], auth_headers: dict[str, str]
) -> httpx.Client:
    return client_factory(headers=auth_headers)


@pytest.fixture
def unique() -> Callable[..., str]:
    return lambda prefix="x": f"{prefix}-{uuid.uuid4().hex}"


@pytest.fixture
def db() -> Iterator[Any]:
    url = os.environ.get("BACKBENCH_ADMIN_DATABASE_URL") or os.environ["DATABASE_URL"]
    conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    try:
        yield conn
    finally:
        conn.close()
