"""Worker processes killed in the middle of delivery calls: the API stays up, and after the
restart every queued invoice gets its next attempt, continuing its count, an invoice whose 4th
attempt was cut short is dead, and nothing is delivered twice. One kill and one restart serve
every check: a restart costs seconds the functional stage's budget counts."""

from __future__ import annotations

import time

import pytest
from invoices_api import (
    ROUTE,
    SETTLE,
    calls_of,
    create,
    get,
    upstream,  # noqa: F401 - a fixture
    wait_calls,
    wait_status,
)

WORKER = "delivery-worker"
RESUME = 5.0 + 2.0  # stated: within 5 s of the restarted server accepting connections


@pytest.mark.rules("worker-name", "api-survives-worker", "down-no-calls", "resume-after-crash", "crash-attempts",
                   "crash-last-attempt", "max-attempts", "same-key", "never-again")  # fmt: skip
def test_a_worker_killed_mid_call_resumes_after_restart_and_delivers_once(
    authed_api, upstream, peers, server
):
    upstream.program(*ROUTE, status=200)
    earlier = create(authed_api)
    wait_status(authed_api, earlier["id"], "delivered", SETTLE)
    # `last` fails 3 times; its 4th call, 2 s after the 3rd, and `first`'s first call hang
    upstream.program(*ROUTE, status=503)
    last = create(authed_api)
    wait_calls(peers, last["idempotency_key"], 3, 1.5 + 2 * SETTLE)
    upstream.program(*ROUTE, status=200, delay_ms=20000)
    first = create(authed_api)
    (hung,) = wait_calls(peers, first["idempotency_key"], 1, SETTLE)
    wait_calls(peers, last["idempotency_key"], 4, 2.0 + SETTLE)
    killed = server.kill_process(WORKER)
    assert killed, f"no process has {WORKER!r} in its command line: {server.processes()}"
    assert not any(WORKER in p["cmdline"] for p in server.processes())
    # the API answers while the worker is down; an invoice made now waits for it
    during = create(authed_api)
    upstream.program(*ROUTE, status=200)
    # past the 5 s call timeout and a backoff: a process that escaped the kill would call again
    time.sleep(max(1.5, hung.time + 5.0 + 0.5 + 1.0 - time.time()))
    for invoice in (first, last, during):
        assert get(authed_api, invoice["id"])["status"] == "queued"
    assert calls_of(peers, during["idempotency_key"]) == []
    assert len(calls_of(peers, first["idempotency_key"])) == 1
    assert len(calls_of(peers, last["idempotency_key"])) == 4
    upstream.program(*ROUTE, status=200, delay_ms=800)  # two jobs of one invoice would overlap
    server.restart()
    wait_calls(peers, first["idempotency_key"], 2, RESUME)
    wait_calls(peers, during["idempotency_key"], 1, RESUME)
    done = wait_status(authed_api, first["id"], "delivered", SETTLE)
    assert done["attempts"] == 2, done
    assert wait_status(authed_api, during["id"], "delivered", SETTLE)["attempts"] == 1
    dead = wait_status(authed_api, last["id"], "dead", SETTLE)
    assert dead["attempts"] == 4, dead
    assert last["id"] in [i["id"] for i in authed_api.get("/v1/dead-letters").json()["items"]]
    time.sleep(1.5)
    assert len(calls_of(peers, first["idempotency_key"])) == 2
    assert len(calls_of(peers, during["idempotency_key"])) == 1
    assert len(calls_of(peers, last["idempotency_key"])) == 4
    assert len(calls_of(peers, earlier["idempotency_key"])) == 1
    assert get(authed_api, earlier["id"])["status"] == "delivered"
