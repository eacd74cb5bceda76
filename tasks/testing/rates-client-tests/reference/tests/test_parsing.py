"""How a 200 answer becomes the rates, and which bodies are refused."""

from decimal import Decimal

import httpx
import pytest

from app import RateUnavailable


def test_rates_are_decimals_of_numbers_and_numeric_strings(api, make_client):
    api.answer(api.ok(USD=1.0712, GBP="0.8551", JPY=164))
    rates = make_client().get_rates()
    assert rates == {
        "USD": Decimal("1.0712"),
        "GBP": Decimal("0.8551"),
        "JPY": Decimal("164"),
        "EUR": Decimal(1),
    }
    assert all(isinstance(value, Decimal) for value in rates.values())
    # through the number's text, not the binary float's expansion
    assert str(rates["USD"]) == "1.0712"


def test_base_is_added_with_rate_1_when_the_api_leaves_it_out(api, make_client):
    api.answer(api.ok("USD", EUR="0.8"))
    assert make_client().get_rates("USD") == {"EUR": Decimal("0.8"), "USD": Decimal(1)}


def test_base_listed_by_the_api_is_still_1(api, make_client):
    api.answer(api.ok("EUR", EUR="2", USD="1.25"))
    assert make_client().get_rates("EUR")["EUR"] == Decimal(1)


def test_codes_from_the_api_are_kept_as_they_are(api, make_client):
    api.answer(api.ok(usd="1.25", XAU="0.0004"))
    assert set(make_client().get_rates()) == {"usd", "XAU", "EUR"}


def test_other_keys_of_the_body_are_ignored(api, make_client):
    body = {"base": "EUR", "rates": {"USD": "1.25"}, "date": "x", "source": {"a": 1}}
    api.answer(httpx.Response(200, json=body))
    assert make_client().get_rates() == {"USD": Decimal("1.25"), "EUR": 1}


def test_changing_the_returned_dict_does_not_change_later_results(api, make_client):
    api.answer(api.ok())
    client = make_client()
    first = client.get_rates()
    first["USD"] = Decimal(99)
    del first["EUR"]
    assert client.get_rates() == {"USD": Decimal("1.25"), "GBP": Decimal("0.8"),
                                  "JPY": Decimal(160), "EUR": Decimal(1)}


INVALID_BODIES = {
    "not json": b"<html>rates</html>",
    "json list": [{"base": "EUR", "rates": {"USD": 1.25}}],
    "json string": "EUR",
    "no base": {"rates": {"USD": 1.25}},
    "other base": {"base": "USD", "rates": {"EUR": 0.8}},
    "lower-case base": {"base": "eur", "rates": {"USD": 1.25}},
    "no rates": {"base": "EUR"},
    "rates a list": {"base": "EUR", "rates": [["USD", 1.25]]},
    "rates null": {"base": "EUR", "rates": None},
    "zero rate": {"base": "EUR", "rates": {"USD": 1.25, "GBP": 0}},
    "negative rate": {"base": "EUR", "rates": {"USD": "-1.25"}},
    "text rate": {"base": "EUR", "rates": {"USD": "abc"}},
    "null rate": {"base": "EUR", "rates": {"USD": None}},
    "boolean rate": {"base": "EUR", "rates": {"USD": True}},
    "list rate": {"base": "EUR", "rates": {"USD": [1.25]}},
    "NaN rate": {"base": "EUR", "rates": {"USD": "NaN"}},
    "infinite rate": {"base": "EUR", "rates": {"USD": "Infinity"}},
    "zero base rate": {"base": "EUR", "rates": {"EUR": 0, "USD": 1.25}},
}


@pytest.mark.parametrize("body", INVALID_BODIES.values(), ids=INVALID_BODIES.keys())
def test_invalid_200_body_is_rate_unavailable_and_not_retried(api, make_client, sleeps, body):
    if isinstance(body, bytes):
        api.answer(httpx.Response(200, content=body))
    else:
        api.answer(httpx.Response(200, json=body))
    with pytest.raises(RateUnavailable) as caught:
        make_client(retries=3).get_rates("EUR")
    assert (caught.value.base, caught.value.status, caught.value.attempts) == ("EUR", 200, 1)
    assert len(api.requests) == 1
    assert sleeps == []


def test_invalid_body_after_a_retry_counts_its_attempt(api, make_client, sleeps):
    api.answer(503, httpx.Response(200, json={"base": "EUR", "rates": {"USD": "0"}}))
    with pytest.raises(RateUnavailable) as caught:
        make_client(retries=3, backoff=1).get_rates()
    assert (caught.value.status, caught.value.attempts) == (200, 2)
    assert sleeps == [1]
