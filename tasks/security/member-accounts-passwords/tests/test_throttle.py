"""The login throttle: per username (existing or not, any letter case), per client address (the
TCP peer, never a forwarded header), under concurrency, and across instances."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest
from accounts_api import (
    ACCOUNT_LIMIT,
    CLIENT_LIMIT,
    LOCK_SECONDS,
    assert_error,
    kit,  # noqa: F401 - a fixture
    loopback_address,
    new_name,
)


def assert_locked(response):
    assert_error(response, 429, "too_many_attempts")
    retry = response.headers.get("Retry-After", "")
    assert retry.isdigit() and 1 <= int(retry) <= LOCK_SECONDS, retry


FORWARDED = ("X-Forwarded-For", "Forwarded", "X-Real-IP", "X-Client-IP", "True-Client-IP")


def fail(kit, username, times, client=None, spoof=False):
    """`times` wrong passwords for the username, each answered 401; with `spoof`, each claims
    another origin in a forwarding header (which the throttle must ignore)."""
    for n in range(times):
        header = FORWARDED[n % len(FORWARDED)]
        value = f"for=10.9.{n}.1" if header == "Forwarded" else f"10.9.{n}.1"
        response = (client or kit.client()).post(
            "/v1/sessions", json={"username": username, "password": f"wrong-password-{n}"},
            headers={header: value} if spoof else {},
        )  # fmt: skip
        assert_error(response, 401, "invalid_credentials")


@pytest.mark.rules("throttle-account", "throttle-429", "error-429")
def test_the_fifth_failed_login_locks_the_username_even_for_the_right_password(kit):
    member, spare = kit.register(new_name("Lock")), kit.register()
    fail(kit, spare.username, ACCOUNT_LIMIT - 1)
    # four failures lock nothing
    assert kit.login(spare.username, spare.password).status_code == 200
    fail(kit, member.username, ACCOUNT_LIMIT, spoof=True)
    assert_locked(kit.login(member.username, member.password))
    # the name is locked, whatever its case and wherever the login comes from
    elsewhere = kit.client(address=loopback_address())
    assert_locked(kit.login(member.username.swapcase(), member.password, elsewhere))
    assert_locked(kit.login(member.username, "still-guessing", elsewhere))
    # the client is not: another account logs in from the same address
    assert kit.login(spare.username, spare.password).status_code == 200


@pytest.mark.rules("throttle-no-reset")
def test_a_successful_login_does_not_reset_the_count(kit):
    member = kit.register()
    fail(kit, member.username, ACCOUNT_LIMIT - 1)
    assert kit.login(member.username, member.password).status_code == 200
    fail(kit, member.username, 1)
    assert_locked(kit.login(member.username, member.password))


@pytest.mark.rules("throttle-unknown-names", "login-fail-same")
def test_an_unknown_username_is_locked_like_an_existing_one(kit):
    member = kit.register()
    unknown = new_name("ghost")
    for name in (member.username, unknown):
        answers = [kit.login(name.upper() if n % 2 else name, f"nope-{n}") for n in range(5)]
        assert [a.status_code for a in answers] == [401] * ACCOUNT_LIMIT
        assert all(a.json() == answers[0].json() for a in answers)
        assert_locked(kit.login(name, "anything-at-all"))


@pytest.mark.rules("throttle-concurrent")
def test_wrong_passwords_sent_at_once_get_at_most_five_401(kit):
    member = kit.register()
    clients = [kit.client() for _ in range(16)]
    with ThreadPoolExecutor(len(clients)) as pool:
        answers = list(pool.map(
            lambda pair: kit.login(member.username, f"concurrent-{pair[0]}", pair[1]),
            enumerate(clients),
        ))  # fmt: skip
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(401) <= ACCOUNT_LIMIT, statuses
    assert set(statuses) <= {401, 429}, statuses
    assert_locked(kit.login(member.username, member.password))


@pytest.mark.rules("throttle-shared", "shared-state")
def test_a_lock_made_through_one_instance_holds_in_another(kit, server):
    member = kit.register()
    other = server.start_instance()
    there = kit.client(base_url=other.base_url)
    fail(kit, member.username, ACCOUNT_LIMIT - 2)
    fail(kit, member.username, 2, there)
    assert_locked(kit.login(member.username, member.password, there))
    assert_locked(kit.login(member.username, member.password))


@pytest.mark.rules("throttle-client", "client-address", "throttle-429")
def test_failed_logins_from_one_address_lock_it_whatever_it_forwards(kit):
    """CLIENT_LIMIT failed logins from one address, each for another unknown name and each
    claiming another origin in a forwarding header: the address is locked."""
    member = kit.register()
    address = loopback_address()
    spoofs = itertools.cycle([
        ("X-Forwarded-For", "10.{a}.{b}.1"), ("Forwarded", "for=10.{a}.{b}.2"),
        ("X-Real-IP", "10.{a}.{b}.3"), ("X-Client-IP", "10.{a}.{b}.4"),
        ("True-Client-IP", "10.{a}.{b}.5"),
    ])  # fmt: skip
    requests = [
        (new_name("crowd"), header, value.format(a=n // 250, b=n % 250))
        for n, (header, value) in zip(range(CLIENT_LIMIT), spoofs)
    ]
    clients = [kit.client(address=address) for _ in range(4)]

    def attempt(job):
        n, (name, header, value) = job
        response = clients[n % len(clients)].post(
            "/v1/sessions", json={"username": name, "password": "wrong-password"},
            headers={header: value},
        )  # fmt: skip
        return response.status_code

    # most of them at once, the last few one by one: the count must be exact when they land
    with ThreadPoolExecutor(len(clients)) as pool:
        statuses = list(pool.map(attempt, enumerate(requests[:-4])))
    statuses += [attempt(job) for job in list(enumerate(requests))[-4:]]
    assert statuses.count(401) == CLIENT_LIMIT, sorted(set(statuses))
    here = kit.client(address=address)
    assert_locked(kit.login(member.username, member.password, here))
    spoofed = kit.client(address=address, headers={"X-Forwarded-For": "10.200.0.9"})
    assert_locked(kit.login(member.username, member.password, spoofed))
    # the lock is the address's, not the account's
    assert kit.login(member.username, member.password).status_code == 200
