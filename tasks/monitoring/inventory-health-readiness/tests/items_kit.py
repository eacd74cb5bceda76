"""Helpers the hidden tests share: item bodies, timed requests, waiting."""

import os
import time

import psycopg

BOUND = 2.5  # the prompt's 2 s, with room for a busy machine
SLOW_DEADLINE = 6.0  # a request that may be slow still ends: the test then fails on BOUND


def item_in(unique, **extra):
    return {"sku": unique("sku"), "name": unique("name"), "quantity": 7, **extra}


def create(authed_api, unique, **extra):
    body = item_in(unique, **extra)
    response = authed_api.post("/v1/items", json=body)
    assert response.status_code == 201, response.text
    item = response.json()
    assert item == {"id": item["id"], **{k: body[k] for k in ("sku", "name", "quantity")}}
    return item


def timed(client, method, path, **kwargs):
    """(response, seconds): the request's answer and how long it took."""
    kwargs.setdefault("extensions", {"deadline": SLOW_DEADLINE})
    start = time.monotonic()
    response = client.request(method, path, **kwargs)
    return response, time.monotonic() - start


def assert_error(response, status, code):
    assert response.status_code == status, (
        response.request.method,
        str(response.request.url),
        response.text[:300],
    )
    body = response.json()
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def assert_no_internals(response):
    text = response.text
    for marker in ("Traceback", 'File "', "asyncpg", "psycopg", "OperationalError", "Exception"):
        assert marker not in text, f"the answer shows internals ({marker!r}): {text[:300]}"


def wait_until(predicate, timeout, interval=0.2):
    """Poll predicate until it holds or timeout seconds passed; whether it held."""
    end = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(interval)


def sleep_until(moment):
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def start_postgres(services, timeout=30.0):
    """Start PostgreSQL and wait until it accepts a connection; the moment it did.

    The kit's start returns once the server's socket exists, while PostgreSQL may still
    refuse connections as "starting up": the prompt's 5 s count from its acceptance."""
    services.start("postgres")
    end = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(os.environ["BACKBENCH_ADMIN_DATABASE_URL"], connect_timeout=2):
                return time.monotonic()
        except psycopg.OperationalError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)
