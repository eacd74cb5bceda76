"""The TTL cache of RatesClient, driven by the injected clock."""

from decimal import Decimal

import pytest

from app import RateUnavailable


def test_second_call_within_ttl_is_answered_from_the_cache(api, make_client, clock):
    api.answer(api.ok())
    client = make_client(ttl=30)
    first = client.get_rates()
    clock.advance(29.999)
    assert client.get_rates() == first
    assert len(api.requests) == 1


def test_rates_are_fetched_again_once_ttl_seconds_have_passed(api, make_client, clock):
    api.answer(api.ok(USD="1.25"))
    client = make_client(ttl=30)
    client.get_rates()
    clock.advance(30)
    api.answer(api.ok(USD="1.5"))
    assert client.get_rates()["USD"] == Decimal("1.5")
    assert len(api.requests) == 2


def test_default_ttl_is_60_seconds(api, make_client, clock):
    api.answer(api.ok())
    client = make_client()
    client.get_rates()
    clock.advance(59.5)
    client.get_rates()
    assert len(api.requests) == 1
    clock.advance(0.5)
    client.get_rates()
    assert len(api.requests) == 2


def test_ttl_zero_fetches_every_time(api, make_client):
    api.answer(api.ok())
    client = make_client(ttl=0)
    client.get_rates()
    client.get_rates()
    assert len(api.requests) == 2


def test_a_refetch_replaces_the_entry_and_restarts_its_ttl(api, make_client, clock):
    api.answer(api.ok(USD="1.25"))
    client = make_client(ttl=10)
    client.get_rates()
    clock.advance(10)
    api.answer(api.ok(USD="1.5"))
    client.get_rates()
    clock.advance(9)
    assert client.get_rates()["USD"] == Decimal("1.5")
    assert len(api.requests) == 2


def test_ttl_counts_from_when_the_answer_was_received(api, make_client, clock):
    api.answer(api.ok())
    api.on_request = lambda: clock.advance(5)  # the request itself takes 5 s
    client = make_client(ttl=10)
    client.get_rates()
    api.on_request = lambda: None
    clock.advance(9)  # 14 s after the request started, 9 s after the answer
    client.get_rates()
    assert len(api.requests) == 1


def test_each_base_has_its_own_entry_shared_by_its_spellings(api, make_client):
    api.answer(api.ok("EUR"))
    client = make_client()
    client.get_rates("EUR")
    api.answer(api.ok("USD", EUR="0.8"))
    assert client.get_rates("usd") == {"EUR": Decimal("0.8"), "USD": 1}
    assert client.get_rates("USD") == {"EUR": Decimal("0.8"), "USD": 1}
    assert client.get_rates("eur")["USD"] == Decimal("1.25")
    assert [r.url.params["base"] for r in api.requests] == ["EUR", "USD"]


def test_errors_are_not_cached(api, make_client):
    api.answer(404, api.ok())
    client = make_client()
    with pytest.raises(RateUnavailable):
        client.get_rates()
    assert client.get_rates()["USD"] == Decimal("1.25")
    assert len(api.requests) == 2


def test_an_expired_entry_is_not_returned_when_the_refetch_fails(api, make_client, clock):
    api.answer(api.ok())
    client = make_client(ttl=10, retries=0)
    client.get_rates()
    clock.advance(10)
    api.answer(503)
    with pytest.raises(RateUnavailable):
        client.get_rates()
    assert len(api.requests) == 2
