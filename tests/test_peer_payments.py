"""The `payments` peer, run for real on loopback: idempotency keys make a retry safe and a client
that retries without one charges twice, which the peer's own record shows; faults fail calls
before or after the charge; concurrent requests with one key make one charge.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from backbench.peers import PEER_KINDS
from backbench.testkit.peers import PaymentsClient, PeerAdminError, Peers
from tests.test_peers import running_peers

LIMITS = {"max_delay_ms": 3000}


@pytest.fixture(scope="module")
def environ(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with running_peers(tmp_path_factory.mktemp("payments"), ["payments"], LIMITS) as env:
        yield env


@pytest.fixture
def provider(environ: dict[str, str]) -> Iterator[PaymentsClient]:
    peers = Peers(environ)
    client = peers.payments
    client.reset()
    yield client
    peers.close()


def charge(
    provider: PaymentsClient, key: str | None = None, amount: int = 1250, timeout: float = 10,
    reference: str = "order-1",
) -> httpx.Response:  # fmt: skip
    headers = {"Authorization": f"Bearer {provider.api_key}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    body = {"amount": amount, "currency": "EUR", "reference": reference}
    return httpx.post(f"{provider.url}/v1/charges", json=body, headers=headers, timeout=timeout)


def test_a_charge_is_made_read_and_listed(provider: PaymentsClient) -> None:
    made = charge(provider)
    assert made.status_code == 201 and made.json()["currency"] == "eur"
    auth = {"Authorization": f"Bearer {provider.api_key}"}
    read = httpx.get(f"{provider.url}/v1/charges/{made.json()['id']}", headers=auth)
    assert read.json() == made.json()
    listed = httpx.get(f"{provider.url}/v1/charges", params={"reference": "order-1"}, headers=auth)
    assert listed.json()["data"] == [made.json()]
    assert [c["id"] for c in provider.charges()] == [made.json()["id"]]


def test_the_api_key_is_required(provider: PaymentsClient) -> None:
    answer = httpx.post(f"{provider.url}/v1/charges", json={"amount": 1, "currency": "eur"})
    assert answer.status_code == 401 and provider.charges() == []


@pytest.mark.parametrize(
    "body",
    [{"amount": 0, "currency": "eur"}, {"amount": 1.5, "currency": "eur"},
     {"amount": 10, "currency": "euro"}, {"amount": True, "currency": "eur"}],
)  # fmt: skip
def test_an_invalid_charge_is_refused(provider: PaymentsClient, body: dict[str, object]) -> None:
    auth = {"Authorization": f"Bearer {provider.api_key}"}
    answer = httpx.post(f"{provider.url}/v1/charges", json=body, headers=auth)
    assert answer.status_code == 400 and provider.charges() == []


def test_a_retry_with_the_same_key_answers_the_first_charge(provider: PaymentsClient) -> None:
    first, again = charge(provider, key="k-1"), charge(provider, key="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert charge(provider, key="k-1", amount=999).status_code == 422
    assert len(provider.charges()) == 1 and provider.charges()[0]["idempotency_key"] == "k-1"


def test_a_timeout_after_the_charge_tempts_a_naive_client_to_charge_twice(
    provider: PaymentsClient,
) -> None:
    # the first create is answered only after 2 s, and made: a client with a 1 s timeout gives up
    provider.fault("create", delay_ms=2000, fail_times=1, commit=True)
    with pytest.raises(httpx.TimeoutException):
        charge(provider, timeout=1)
    time.sleep(1.2)
    charge(provider)  # a naive retry, without a key: a second charge
    assert len(provider.charges()) == 2
    # the same story with a key: the retry answers the charge the timed-out call made
    provider.reset()
    provider.fault("create", delay_ms=2000, fail_times=1, commit=True)
    with pytest.raises(httpx.TimeoutException):
        charge(provider, key="order-1-pay", timeout=1)
    time.sleep(1.2)
    retry = charge(provider, key="order-1-pay")
    assert retry.status_code == 200 and len(provider.charges()) == 1


def test_a_failure_before_the_charge_makes_none(provider: PaymentsClient) -> None:
    provider.fault("create", fail_times=2, fail_status=502)
    statuses = [charge(provider, key="k-2").status_code for _ in range(3)]
    assert statuses == [502, 502, 201] and len(provider.charges()) == 1
    assert [c.outcome for c in provider.calls()] == [502, 502, 201]


def test_a_dropped_call_after_the_charge_still_charges(provider: PaymentsClient) -> None:
    provider.fault("create", drop=True, fail_times=1, commit=True)
    with pytest.raises(httpx.HTTPError):
        charge(provider, key="k-3")
    assert len(provider.charges()) == 1 and provider.calls()[-1].outcome == "dropped"


def test_concurrent_requests_with_one_key_make_one_charge(provider: PaymentsClient) -> None:
    provider.fault("create", delay_ms=800)
    answers: list[int] = []
    threads = [
        threading.Thread(target=lambda: answers.append(charge(provider, key="k-4").status_code))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [201, 409, 409, 409] and len(provider.charges()) == 1


def test_admin_refuses_what_it_cannot_do(provider: PaymentsClient) -> None:
    with pytest.raises(PeerAdminError, match="422"):
        provider.fault("refund")
    with pytest.raises(PeerAdminError, match="422"):
        provider.fault(delay_ms=10_000)


def test_payments_is_a_registered_peer_kind() -> None:
    kind = PEER_KINDS["payments"]
    env = kind.submission_env("127.0.0.1", kind.port)
    assert env == {
        "PAYMENTS_URL": "http://127.0.0.1:8085",
        "PAYMENTS_API_KEY": env["PAYMENTS_API_KEY"],
    }
