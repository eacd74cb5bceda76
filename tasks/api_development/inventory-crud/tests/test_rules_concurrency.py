"""Name uniqueness under concurrency: simultaneous creates or renames to one name, one wins.

Every round starts its requests together behind a barrier, each from its own connection
opened beforehand, so a check-then-act implementation is caught in any run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from items_api import count_named, new_item

ROUNDS = 12
BURST = 8


def burst(
    clients: list[httpx.Client], send: Callable[[httpx.Client, int], httpx.Response]
) -> list[httpx.Response]:
    """Send one request per client, all released at once by a barrier."""
    barrier = threading.Barrier(len(clients), timeout=30)

    def one(index: int) -> httpx.Response:
        barrier.wait()
        return send(clients[index], index)

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        return list(pool.map(one, range(len(clients))))


def warm_clients(client_factory: Callable[..., httpx.Client], headers: dict[str, str]) -> list[Any]:
    clients = [client_factory(headers=headers, deadline=30) for _ in range(BURST)]
    for client in clients:
        assert client.get("/health").status_code == 200
    return clients


@pytest.mark.rules("name-unique-concurrent", "error-409")
def test_concurrent_creates_of_one_name_let_exactly_one_succeed(
    api, client_factory, auth_headers, unique
):
    clients = warm_clients(client_factory, auth_headers)
    for _ in range(ROUNDS):
        name = unique("race")
        responses = burst(
            clients,
            lambda client, i, name=name: client.post(
                "/v1/items", json={"name": name, "price": 1 + i, "quantity": i}
            ),
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * (BURST - 1), (name, statuses)
        assert count_named(api, name) == 1, name


@pytest.mark.rules("name-unique-concurrent", "error-409")
def test_concurrent_renames_to_one_name_let_exactly_one_succeed(
    api, authed_api, client_factory, auth_headers, unique
):
    clients = warm_clients(client_factory, auth_headers)
    for _ in range(ROUNDS // 2):
        items = [new_item(authed_api, unique)["id"] for _ in range(BURST)]
        name = unique("rename-race")
        responses = burst(
            clients,
            lambda client, i, name=name, items=items: client.patch(
                f"/v1/items/{items[i]}", json={"name": name}
            ),
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [409] * (BURST - 1), (name, statuses)
        assert count_named(api, name) == 1, name
