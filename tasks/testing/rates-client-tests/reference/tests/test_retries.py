"""Which answers are retried, how long the client waits, and what it raises."""

from decimal import Decimal

import httpx
import pytest

from app import AuthError, RatesError, RateUnavailable


def timeout() -> httpx.ReadTimeout:
    return httpx.ReadTimeout("read timed out")


def test_server_errors_are_retried_with_exponential_backoff(api, make_client, sleeps):
    api.answer(500, 503, api.ok())
    rates = make_client(retries=2, backoff=0.5).get_rates()
    assert rates["USD"] == Decimal("1.25")
    assert len(api.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_every_attempt_failing_raises_rate_unavailable(api, make_client, sleeps):
    api.answer(502)
    with pytest.raises(RateUnavailable) as caught:
        make_client(retries=3, backoff=0.5).get_rates("usd")
    assert (caught.value.base, caught.value.status, caught.value.attempts) == ("USD", 502, 4)
    assert len(api.requests) == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_defaults_are_two_retries_and_a_backoff_of_a_tenth(api, make_client, sleeps):
    api.answer(500)
    with pytest.raises(RateUnavailable) as caught:
        make_client().get_rates()
    assert caught.value.attempts == 3
    assert len(api.requests) == 3
    assert sleeps == pytest.approx([0.1, 0.2])


def test_no_retries_means_one_attempt_and_no_sleep(api, make_client, sleeps):
    api.answer(503)
    with pytest.raises(RateUnavailable) as caught:
        make_client(retries=0).get_rates()
    assert (caught.value.status, caught.value.attempts) == (503, 1)
    assert len(api.requests) == 1
    assert sleeps == []


def test_no_sleep_before_the_first_attempt_or_after_a_success(api, make_client, sleeps):
    api.answer(api.ok())
    make_client(retries=3).get_rates()
    api.answer(503, api.ok())
    make_client(retries=3, backoff=2, ttl=0).get_rates()
    assert sleeps == [2]


def test_zero_backoff_still_calls_sleep_with_zero(api, make_client, sleeps):
    api.answer(500, 500, api.ok())
    make_client(backoff=0).get_rates()
    assert sleeps == [0, 0]


@pytest.mark.parametrize("status", [500, 501, 502, 503, 504, 599])
def test_every_status_from_500_is_retried(api, make_client, status):
    api.answer(status, api.ok())
    assert make_client(retries=1).get_rates()["GBP"] == Decimal("0.8")
    assert len(api.requests) == 2


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("read"),
        httpx.ConnectTimeout("connect"),
        httpx.WriteTimeout("write"),
        httpx.PoolTimeout("pool"),
        httpx.ConnectError("refused"),
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("closed"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_timeouts_and_network_errors_are_retried(api, make_client, sleeps, error):
    api.answer(error, api.ok())
    assert make_client(retries=1, backoff=0.25).get_rates()["JPY"] == Decimal(160)
    assert len(api.requests) == 2
    assert sleeps == [0.25]


def test_status_is_none_when_the_last_attempt_timed_out(api, make_client):
    api.answer(503, timeout())
    with pytest.raises(RateUnavailable) as caught:
        make_client(retries=1).get_rates()
    assert (caught.value.status, caught.value.attempts) == (None, 2)


def test_status_is_the_last_answer_after_a_timeout(api, make_client):
    api.answer(timeout(), timeout(), 504)
    with pytest.raises(RateUnavailable) as caught:
        make_client(retries=2).get_rates()
    assert (caught.value.status, caught.value.attempts) == (504, 3)


@pytest.mark.parametrize("status", [400, 404, 409, 422, 429, 499, 201, 204, 301, 302, 304])
def test_other_statuses_are_rate_unavailable_at_once(api, make_client, sleeps, status):
    # even with a body that would be valid with a 200
    api.answer(api.rates_with_status(status, "GBP", EUR="1.17"), api.ok("GBP"))
    with pytest.raises(RateUnavailable) as caught:
        make_client(retries=3).get_rates("gbp")
    assert (caught.value.base, caught.value.status, caught.value.attempts) == ("GBP", status, 1)
    assert len(api.requests) == 1
    assert sleeps == []


def test_a_non_retried_status_after_retries_counts_every_attempt(api, make_client, sleeps):
    api.answer(500, timeout(), 404)
    with pytest.raises(RateUnavailable) as caught:
        make_client(retries=5, backoff=1).get_rates()
    assert (caught.value.status, caught.value.attempts) == (404, 3)
    assert sleeps == [1, 2]


@pytest.mark.parametrize("status", [401, 403])
def test_refused_key_is_auth_error_and_never_retried(api, make_client, sleeps, status):
    api.answer(status, api.ok())
    with pytest.raises(AuthError) as caught:
        make_client(retries=3).get_rates()
    assert caught.value.status == status
    assert len(api.requests) == 1
    assert sleeps == []


def test_refused_key_after_a_server_error_stops_retrying(api, make_client, sleeps):
    api.answer(503, 401, api.ok())
    with pytest.raises(AuthError) as caught:
        make_client(retries=3, backoff=1).get_rates()
    assert caught.value.status == 401
    assert len(api.requests) == 2
    assert sleeps == [1]


def test_every_error_of_the_client_is_a_rates_error():
    assert issubclass(AuthError, RatesError)
    assert issubclass(RateUnavailable, RatesError)
