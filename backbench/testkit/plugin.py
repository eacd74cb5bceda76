"""The test kit's pytest plugin: the fixtures every scenario's hidden tests use.

Loaded by the functional stage with `-p backbench.testkit.plugin`. Everything it knows comes
from environment variables the harness sets (never from files the submission can write):

    BASE_URL                       the submission, e.g. http://127.0.0.1:8000
    APP_SECRET                     the secret it was started with
    DATABASE_URL, REDIS_URL        what it was given
    BACKBENCH_ADMIN_DATABASE_URL   a superuser connection to the same database
    BACKBENCH_CONTROL              the control channel (backbench.testkit.control)
    BACKBENCH_PEERS                the scenario's peers, as JSON (backbench.peers)
    BACKBENCH_OPENAPI              its openapi.yaml: every response is checked against it
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backbench.contract import ContractValidator
from backbench.contract import UndocumentedOperation as Undocumented
from backbench.testkit.control import (
    ADMIN_DATABASE_ENV,
    CONTROL_ENV,
    OPENAPI_ENV,
    ControlClient,
)
from backbench.testkit.database import KitConnection
from backbench.testkit.http import (
    DEFAULT_DEADLINE,
    MAX_DEADLINE_MISSES,
    UNRESPONSIVE,
    deadline_client,
    deadline_misses,
)
from backbench.testkit.server import ServerControl, ServiceControl

# the `peers` fixture lives with the peers' clients
pytest_plugins = ["backbench.testkit.peers"]

ClientFactory = Callable[..., httpx.Client]
RULES_MARKER = "rules(*ids): the scenario rules (scenario.yaml `rules`) this test checks"


def pytest_configure(config: pytest.Config) -> None:
    """Register the kit's markers, so a hidden test's `rules` mark is never 'unknown'."""
    config.addinivalue_line("markers", RULES_MARKER)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail the remaining tests at once when the server keeps missing its deadlines."""
    misses = deadline_misses()
    if misses >= MAX_DEADLINE_MISSES:
        pytest.fail(f"{UNRESPONSIVE} ({misses} requests)", pytrace=False)


def _env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(f"${name} is not set: the hidden tests run under the backbench harness")
    return value


@pytest.fixture(scope="session")
def base_url() -> str:
    """The submission's base URL."""
    return _env("BASE_URL").rstrip("/")


@pytest.fixture(scope="session")
def app_secret() -> str:
    """The APP_SECRET the submission was started with."""
    return _env("APP_SECRET")


@pytest.fixture
def auth_headers(app_secret: str) -> dict[str, str]:
    """{"Authorization": "Bearer <APP_SECRET>"} (a fresh dict: tests may add to it)."""
    return {"Authorization": f"Bearer {app_secret}"}


@pytest.fixture
def client_factory(
    base_url: str, _backbench_contract: ContractValidator | None
) -> Iterator[ClientFactory]:
    """client_factory(base_url=None, headers=None, deadline=None) -> an httpx.Client whose
    requests each complete within their deadline, and whose every response is checked against
    the scenario's OpenAPI document; closed after the test."""
    made: list[httpx.Client] = []
    hooks = [contract_hook(_backbench_contract)] if _backbench_contract else []

    def make(
        base_url: str | None = None,
        headers: dict[str, str] | None = None,
        deadline: float | None = None,
    ) -> httpx.Client:
        client = deadline_client(
            base_url or default_url, headers=headers, deadline=deadline or DEFAULT_DEADLINE
        )
        client.event_hooks["response"] = list(hooks)
        made.append(client)
        return client

    default_url = base_url
    yield make
    for client in made:
        client.close()


class ContractViolation(AssertionError):
    """A response the published contract (openapi.yaml) does not allow."""


@pytest.fixture(scope="session")
def _backbench_contract() -> ContractValidator | None:
    """The scenario's OpenAPI document, when the harness gives one ($BACKBENCH_OPENAPI)."""
    path = os.environ.get(OPENAPI_ENV, "")
    return ContractValidator.from_file(Path(path)) if path else None


def contract_hook(validator: ContractValidator) -> Callable[[httpx.Response], None]:
    """An httpx response hook: a response that breaks the contract fails the test, naming the
    exchange, where and why. A request to an undocumented path is a test's own choice."""

    def check(response: httpx.Response) -> None:
        response.read()
        problems = [p for p in validator.check(response) if not isinstance(p, Undocumented)]
        if problems:
            raise ContractViolation("response breaks openapi.yaml: " + "; ".join(problems))

    return check


@pytest.fixture
def api(client_factory: ClientFactory) -> httpx.Client:
    """A client of the submission without credentials; total deadline per request."""
    return client_factory()


@pytest.fixture
def authed_api(client_factory: ClientFactory, auth_headers: dict[str, str]) -> httpx.Client:
    """A client that sends `Authorization: Bearer $APP_SECRET` on every request."""
    return client_factory(headers=auth_headers)


@pytest.fixture
def unique() -> Callable[..., str]:
    """unique(prefix="x") -> a name no other test or run uses."""

    def make(prefix: str = "x") -> str:
        return f"{prefix}-{uuid.uuid4().hex}"

    return make


@pytest.fixture
def db() -> Iterator[KitConnection]:
    """A superuser connection (autocommit) to the sample's scoring database."""
    conn = KitConnection.open(_env(ADMIN_DATABASE_ENV))
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def redis() -> Iterator[Any]:
    """A redis.Redis of the sample's REDIS_URL (answers as str)."""
    import redis as redis_py

    client = redis_py.Redis.from_url(
        _env("REDIS_URL"), socket_timeout=10, socket_connect_timeout=5, decode_responses=True
    )
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def _control() -> ControlClient:
    return ControlClient(_env(CONTROL_ENV))


@pytest.fixture
def server(_control: ControlClient, base_url: str) -> Iterator[ServerControl]:
    """Control of the submission: restart, signal, start_instance, output (see testkit.server).

    After the test its extra instances are stopped, and the submission restarted if it left
    it down."""
    control = ServerControl(_control, base_url)
    try:
        yield control
    finally:
        control.cleanup()


@pytest.fixture
def services(_control: ControlClient) -> Iterator[ServiceControl]:
    """stop / start / restart of "postgres" or "redis"; whatever the test stopped is started
    again after it."""
    control = ServiceControl(_control)
    try:
        yield control
    finally:
        control.cleanup()
