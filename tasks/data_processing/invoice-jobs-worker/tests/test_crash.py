"""A worker killed in the middle of a delivery call: the API stays up, and after the restart
every queued invoice is attempted again, continuing its count, and nothing is delivered twice."""

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


@pytest.mark.rules("worker-name", "api-survives-worker", "resume-after-crash", "crash-attempts",
                   "same-key", "never-again", "process-group")  # fmt: skip
def test_a_worker_killed_mid_call_resumes_after_restart_and_delivers_once(
    authed_api, upstream, peers, server
):
    upstream.program(*ROUTE, status=200)
    earlier = create(authed_api)
    wait_status(authed_api, earlier["id"], "delivered", SETTLE)
    upstream.program(*ROUTE, status=200, delay_ms=20000)
    invoice = create(authed_api)
    wait_calls(peers, invoice["idempotency_key"], 1, SETTLE)
    killed = server.kill_process(WORKER)
    assert killed, f"no process has {WORKER!r} in its command line: {server.processes()}"
    assert not any(WORKER in p["cmdline"] for p in server.processes())
    # the API answers while the worker is down; an invoice made now waits for it
    during = create(authed_api)
    time.sleep(1.5)
    assert get(authed_api, invoice["id"])["status"] == "queued"
    assert get(authed_api, during["id"])["status"] == "queued"
    assert calls_of(peers, during["idempotency_key"]) == []
    upstream.program(*ROUTE, status=200, delay_ms=800)  # two jobs of one invoice would overlap
    server.restart()
    wait_calls(peers, invoice["idempotency_key"], 2, RESUME)
    wait_calls(peers, during["idempotency_key"], 1, RESUME)
    done = wait_status(authed_api, invoice["id"], "delivered", SETTLE)
    assert done["attempts"] == 2, done
    assert wait_status(authed_api, during["id"], "delivered", SETTLE)["attempts"] == 1
    time.sleep(1.5)
    assert len(calls_of(peers, invoice["idempotency_key"])) == 2
    assert len(calls_of(peers, during["idempotency_key"])) == 1
    assert len(calls_of(peers, earlier["idempotency_key"])) == 1
    assert get(authed_api, earlier["id"])["status"] == "delivered"


@pytest.mark.rules("crash-last-attempt", "max-attempts", "crash-attempts")
def test_a_crash_during_the_fourth_attempt_leaves_the_invoice_dead(
    authed_api, upstream, peers, server
):
    upstream.program(*ROUTE, status=503)
    invoice = create(authed_api)
    wait_calls(peers, invoice["idempotency_key"], 3, 1.5 + 2 * SETTLE)
    upstream.program(*ROUTE, status=200, delay_ms=20000)  # before the 4th call, 2 s later
    wait_calls(peers, invoice["idempotency_key"], 4, 2.0 + SETTLE)
    assert server.kill_process(WORKER)
    upstream.program(*ROUTE, status=200)
    server.restart()
    dead = wait_status(authed_api, invoice["id"], "dead", RESUME)
    assert dead["attempts"] == 4
    assert invoice["id"] in [i["id"] for i in authed_api.get("/v1/dead-letters").json()["items"]]
    time.sleep(1.0)
    assert len(calls_of(peers, invoice["idempotency_key"])) == 4
