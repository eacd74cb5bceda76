"""What the order-pricing tests share: new skus, the error body check, the pricing service's
address (found from the listening sockets of its processes), orders, stock and waits."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

QUEUE = "fulfilment:queue"
PRICING = "pricing-service"
WORKER = "fulfilment-worker"
SETTLE = 4.0  # stated: a message is handled within 2 s; measured with room
RESUME = 5.0 + 3.0  # stated: within 5 s of the restarted service accepting connections


def new_sku(prefix: str = "T") -> str:
    """A sku no other test or run uses (letters, digits, '-' and '_', 34 characters)."""
    return f"{prefix}-{uuid.uuid4().hex}_x"


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response has `status` and the body {"error": {"code": code, "message": <text>}}."""
    assert response.status_code == status, (
        response.request.method, str(response.request.url), response.status_code,
        response.text[:300],
    )  # fmt: skip
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    assert body["error"].get("code") == code, body
    assert isinstance(body["error"].get("message"), str), body
    return body


# --- sockets: which process listens where -------------------------------------------------


def _address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def listening_by_inode() -> dict[str, tuple[str, int]]:
    """Every listening TCP socket of this network namespace: inode -> (address, port)."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] != "0A":  # LISTEN
                continue
            address, port = fields[1].split(":")
            found[fields[9]] = (_address(address), int(port, 16))
    return found


def sockets_of(pid: int) -> set[str]:
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def listeners(server) -> list[dict[str, Any]]:
    """Each process of the submission with the listening sockets it holds."""
    table = listening_by_inode()
    found = []
    for process in server.processes():
        held = {table[i] for i in sockets_of(int(process["pid"])) if i in table}
        found.append({**process, "listening": held})
    return found


def is_loopback(address: str) -> bool:
    return ipaddress.ip_address(address).is_loopback


def pricing_port(server) -> int:
    """The port the pricing service's processes listen on (exactly one, on 127.0.0.1)."""
    ports = {port for p in listeners(server) if PRICING in p["cmdline"] for _, port in p["listening"]}
    assert len(ports) == 1, f"the {PRICING} processes listen on {sorted(ports)}: {listeners(server)}"
    return ports.pop()


@pytest.fixture
def pricing(server, client_factory) -> httpx.Client:
    """A client of the pricing service, at 127.0.0.1 and the port its processes listen on."""
    return client_factory(base_url=f"http://127.0.0.1:{pricing_port(server)}")


# --- products, orders, stock ----------------------------------------------------------------


def put_price(pricing: httpx.Client, sku: str, unit: int, stock: int = 1000) -> None:
    r = pricing.put(f"/prices/{sku}", json={"unit_price_cents": unit, "stock": stock})
    assert r.status_code == 200, r.text
    assert r.json() == {"sku": sku, "unit_price_cents": unit, "stock": stock}, r.text


def new_product(pricing: httpx.Client, unit: int = 250, stock: int = 1000) -> str:
    sku = new_sku()
    put_price(pricing, sku, unit, stock)
    return sku


def order(api: httpx.Client, sku: str, quantity: int, **extra: Any) -> dict[str, Any]:
    r = api.post("/v1/orders", json={"sku": sku, "quantity": quantity, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def get_order(api: httpx.Client, order_id: int) -> dict[str, Any]:
    r = api.get(f"/v1/orders/{order_id}")
    assert r.status_code == 200, r.text
    return r.json()


def wait_status(api: httpx.Client, order_id: int, status: str, timeout: float) -> dict[str, Any]:
    """The order once its status is `status`; fails after `timeout` s."""
    end = time.monotonic() + timeout
    while True:
        found = get_order(api, order_id)
        if found["status"] == status:
            return found
        if time.monotonic() > end:
            pytest.fail(f"order {order_id} is not {status} after {timeout} s: {found}")
        time.sleep(0.05)


def stock(db, sku: str) -> int:
    return int(db.scalar("SELECT stock FROM products WHERE sku = %s", (sku,)))


def stored(db, sku: str) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT id, quantity, unit_price_cents, total_cents, status FROM orders WHERE sku = %s "
        "ORDER BY id",
        (sku,),
    ).fetchall()


def push(redis, order_id: Any) -> None:
    redis.lpush(QUEUE, json.dumps({"order_id": order_id}))


def wait_drained(redis, timeout: float = SETTLE) -> None:
    """Wait until the queue is empty (every message taken), then a moment for the last one."""
    end = time.monotonic() + timeout
    while redis.llen(QUEUE) and time.monotonic() < end:
        time.sleep(0.05)
    assert redis.llen(QUEUE) == 0, redis.lrange(QUEUE, 0, 20)
    time.sleep(0.5)


def lock_waiters(db) -> int:
    """Sessions of the database waiting for a lock (a worker blocked by the test's lock)."""
    return int(db.scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    ))  # fmt: skip


def wait_waiters(db, count: int, timeout: float) -> int:
    end = time.monotonic() + timeout
    while True:
        found = lock_waiters(db)
        if found >= count or time.monotonic() > end:
            return found
        time.sleep(0.05)


@contextmanager
def holding(sql: str, params: tuple[Any, ...] = ()) -> Iterator[None]:
    """Run `sql` (a lock) in a transaction of a connection of its own and hold it for the block
    (the `db` fixture keeps polling: pg_stat_activity is frozen inside a transaction)."""
    conn = psycopg.connect(os.environ["BACKBENCH_ADMIN_DATABASE_URL"], connect_timeout=10)
    try:
        conn.execute("SET statement_timeout = '10s'")
        conn.execute(sql, params)
        yield
    finally:
        conn.rollback()
        conn.close()
