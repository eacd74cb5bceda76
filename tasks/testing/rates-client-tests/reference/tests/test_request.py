"""What RatesClient sends, and how it builds the URL."""

from decimal import Decimal

import pytest

from app import RatesClient


def test_get_rates_sends_one_get_with_base_and_api_key(api, make_client):
    api.answer(api.ok("USD", EUR="0.8"))
    make_client(api_key="secret-key").get_rates("USD")
    [request] = api.requests
    assert request.method == "GET"
    assert request.url.path == "/v1/rates"
    assert dict(request.url.params) == {"base": "USD"}
    assert request.headers["X-Api-Key"] == "secret-key"


def test_default_base_is_eur(api, make_client):
    api.answer(api.ok("EUR"))
    make_client().get_rates()
    assert api.requests[0].url.params["base"] == "EUR"


@pytest.mark.parametrize("code", ["gbp", "Gbp", "gBP"])
def test_lower_and_mixed_case_bases_are_requested_in_upper_case(api, make_client, code):
    api.answer(api.ok("GBP", EUR="1.17"))
    rates = make_client().get_rates(code)
    assert api.requests[0].url.params["base"] == "GBP"
    assert rates["GBP"] == 1


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://rates.example", "https://rates.example/v1/rates?base=EUR"),
        ("https://rates.example/", "https://rates.example/v1/rates?base=EUR"),
        ("https://h.example/fx", "https://h.example/fx/v1/rates?base=EUR"),
        ("https://h.example/fx/", "https://h.example/fx/v1/rates?base=EUR"),
    ],
)
def test_url_is_base_url_plus_v1_rates(api, make_client, base_url, expected):
    api.answer(api.ok())
    make_client(base_url=base_url).get_rates("EUR")
    assert str(api.requests[0].url) == expected


def test_default_timeout_is_5_seconds_for_every_phase(api, make_client):
    api.answer(api.ok())
    make_client().get_rates()
    timeout = api.requests[0].extensions["timeout"]
    assert timeout == {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}


def test_timeout_argument_is_the_timeout_of_every_phase(api, make_client):
    api.answer(api.ok())
    make_client(timeout=0.5).get_rates()
    timeout = api.requests[0].extensions["timeout"]
    assert timeout == {"connect": 0.5, "read": 0.5, "write": 0.5, "pool": 0.5}


def test_close_closes_the_transport(api, make_client):
    client = make_client()
    assert not api.closed
    client.close()
    assert api.closed


def test_with_block_gives_the_client_and_closes_it(api, make_client):
    api.answer(api.ok())
    client = make_client()
    with client as inside:
        assert inside is client
        assert inside.get_rates()["USD"] == Decimal("1.25")
        assert not api.closed
    assert api.closed


@pytest.mark.parametrize(
    "kwargs",
    [{"timeout": 0}, {"timeout": -1.0}, {"retries": -1}, {"backoff": -0.1}, {"ttl": -1}],
    ids=lambda kw: f"{next(iter(kw))}={next(iter(kw.values()))}",
)
def test_out_of_range_arguments_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        RatesClient("https://rates.example", "k", **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [{"timeout": 0.5}, {"retries": 0}, {"backoff": 0}, {"backoff": 0.5}, {"ttl": 0}, {"ttl": 0.5}],
    ids=lambda kw: f"{next(iter(kw))}={next(iter(kw.values()))}",
)
def test_smallest_allowed_arguments_are_accepted(api, make_client, kwargs):
    api.answer(api.ok())
    assert make_client(**kwargs).get_rates()["EUR"] == 1
