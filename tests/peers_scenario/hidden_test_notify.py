"""Hidden tests of the peers scenario (copied as tests/test_notify.py when it is assembled)."""

import os
import uuid

import httpx

from backbench.testkit.peers import Peers

BASE_URL = os.environ.get("BASE_URL", "")


def test_notify_posts_to_the_sink_and_mails(peers: Peers) -> None:
    token = uuid.uuid4().hex
    answer = httpx.post(f"{BASE_URL}/notify", json={"token": token}, timeout=10)
    assert answer.status_code == 202
    hook = peers.sink.wait_for(lambda r: r.path == "/hooks" and token in r.text, timeout=5)
    assert hook.json() == {"token": token}
    mail = peers.smtp.wait_for(lambda m: token in m.text, timeout=5)
    assert mail.rcpt_tos == ("user@example.test",) and mail.subject == "notified"


def test_quote_relays_the_upstream(peers: Peers) -> None:
    peers.upstream.program("GET", "/rates", json={"eur": 1.1})
    answer = httpx.get(f"{BASE_URL}/quote", timeout=10)
    assert answer.json() == {"eur": 1.1}
    assert [c.outcome for c in peers.upstream.calls() if c.path == "/rates"] == [200]


def test_login_goes_through_the_provider(peers: Peers) -> None:
    peers.oidc.login_as("user-e2e")
    start = httpx.get(f"{BASE_URL}/login", timeout=10)
    assert start.status_code == 302
    back = peers.oidc.authorize(start.headers["location"])
    done = httpx.get(back, timeout=10)
    assert done.json() == {"sub": "user-e2e", "nonce": "n1", "state": "s1"}
    assert [r.path for r in peers.oidc.requests()] == ["/authorize", "/token"]


def test_the_store_refuses_an_unsigned_read(peers: Peers) -> None:
    peers.s3.put("note.txt", b"kept")
    assert httpx.get(f"{BASE_URL}/store", timeout=10).json() == {"store": 403}
    assert [r.outcome for r in peers.s3.requests()] == [403]


def test_a_keyed_retry_charges_once(peers: Peers) -> None:
    made = httpx.get(f"{BASE_URL}/pay", timeout=10).json()["charge"]
    assert [c["id"] for c in peers.payments.charges()] == [made]
