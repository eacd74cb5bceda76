"""SIGTERM: no new work, every request received finished and committed, exit 0 within 10 s.

Each test first restarts the server (so that the kit started the process it signals and knows
its exit status); after each, the kit starts the server again.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest
from jobs_api import JOBS, Outcome, assert_stored_whole, stored_jobs

BOUND = 10.0  # seconds from SIGTERM to the exit, as the prompt states


def address(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    return parts.hostname or "127.0.0.1", int(parts.port or 80)


def assert_port_free(base_url: str) -> None:
    """Nothing listens on the server's port any more: no process of it was left behind."""
    try:
        with socket.create_connection(address(base_url), timeout=2):
            pass
    except OSError:
        return
    raise AssertionError(f"{base_url} still accepts connections after the exit")


def assert_exited_0(exit_) -> None:
    assert exit_.exited, f"still running {BOUND:g} s after SIGTERM"
    assert exit_.returncode == 0, f"exited with status {exit_.returncode}, not 0"


def start_jobs(client_factory, auth_headers, documents, pages=10, connect_first=True):
    """Post a job for each document, each from a thread on a connection of its own; with
    `connect_first`, that connection is open and has been served once before (so the server
    surely accepted it when the job is sent)."""
    outcomes = []
    for document in documents:
        client = client_factory(headers=auth_headers, deadline=BOUND + 5)
        if connect_first:
            assert client.get("/health").status_code == 200
        outcomes.append(Outcome(
            lambda c=client, d=document: c.post(JOBS, json={"document": d, "pages": pages})
        ))  # fmt: skip
    return outcomes


@pytest.mark.rules("sigterm-finishes-received", "sigterm-exit", "signal-reaches-server")
def test_sigterm_lets_every_job_in_flight_finish_then_exits_0(
    server, client_factory, auth_headers, base_url, db, unique
):
    server.restart()
    documents = [unique("in-flight") for _ in range(4)]
    outcomes = start_jobs(client_factory, auth_headers, documents)
    time.sleep(0.5)  # received, and half-way through their 1 s of rendering
    signalled_at = time.monotonic()
    exit_ = server.signal("SIGTERM", wait=BOUND)
    for outcome in outcomes:
        outcome.join(BOUND + 10)
    answers = [outcome.describe() for outcome in outcomes]
    assert all(o.response is not None and o.response.status_code == 201 for o in outcomes), answers
    assert all(o.finished_at > signalled_at for o in outcomes), "a job ended before the signal"
    for document, outcome in zip(documents, outcomes, strict=True):
        assert assert_stored_whole(db, document, 10) == outcome.response.json()["id"]
    assert_exited_0(exit_)
    assert_port_free(base_url)


@pytest.mark.rules("sigterm-no-new-work", "sigterm-finishes-received", "sigterm-exit")
def test_a_connection_opened_after_sigterm_is_not_served(
    server, client_factory, auth_headers, base_url, db, unique
):
    server.restart()
    early, late = unique("before-signal"), unique("after-signal")
    [in_flight] = start_jobs(client_factory, auth_headers, [early])
    time.sleep(0.5)
    sent = server.signal("SIGTERM", wait=0)  # returns once the signal is sent
    assert not sent.exited, "the server was gone before its job in flight was answered"
    time.sleep(0.5)  # the prompt's half second; the job in flight still renders
    [refused] = start_jobs(client_factory, auth_headers, [late], pages=1, connect_first=False)
    # a harmless signal, to wait for the exit the SIGTERM started
    exit_ = server.signal("SIGCONT", wait=BOUND)
    refused.join(BOUND + 10)
    in_flight.join(BOUND + 10)
    assert refused.response is None or refused.response.status_code == 503, (
        f"a request on a connection opened after SIGTERM was served: {refused.describe()}"
    )
    assert in_flight.response is not None and in_flight.response.status_code == 201, (
        in_flight.describe()
    )
    assert_stored_whole(db, early, 10)
    assert_exited_0(exit_)
    assert stored_jobs(db, late) == []
    assert_port_free(base_url)


@pytest.mark.rules("sigterm-bound")
def test_a_half_sent_request_does_not_keep_the_server_past_the_bound(server, base_url, app_secret):
    server.restart()
    host, port = address(base_url)
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/print-jobs HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
            b"Authorization: Bearer " + app_secret.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 64\r\n\r\n{\"document\": \"ha"
        )
        time.sleep(0.5)  # the headers are read; the body never comes
        exit_ = server.signal("SIGTERM", wait=BOUND)
    assert_exited_0(exit_)
    assert_port_free(base_url)


@pytest.mark.rules("sigterm-exit")
def test_an_idle_server_exits_0_at_once_on_sigterm(server, api, base_url):
    server.restart()
    assert api.get("/health").status_code == 200  # a kept-alive connection stays open
    started = time.monotonic()
    exit_ = server.signal("SIGTERM", wait=BOUND)
    assert_exited_0(exit_)
    assert time.monotonic() - started < BOUND
    assert_port_free(base_url)
