"""Converter: cross rates through the base, rounding, validation.

The fake API's rates: USD 1.25, GBP 0.8, JPY 160 per EUR.
"""

from decimal import Decimal, InvalidOperation

import pytest

from app import AuthError, Converter, InvalidAmount, RatesError, RateUnavailable, UnknownCurrency


@pytest.fixture
def converter(api, make_client) -> Converter:
    api.answer(api.ok())
    return Converter(make_client())


@pytest.mark.parametrize(
    ("from_", "to", "expected"),
    [
        ("EUR", "USD", "1.25"),
        ("USD", "EUR", "0.8"),
        ("USD", "GBP", "0.64"),
        ("GBP", "USD", "1.5625"),
        ("JPY", "USD", "0.0078125"),
        ("GBP", "JPY", "200"),
        ("usd", "gbp", "0.64"),
    ],
)
def test_rate_is_the_unrounded_cross_rate_through_the_base(converter, from_, to, expected):
    assert converter.rate(from_, to) == Decimal(expected)


def test_rate_uses_the_default_decimal_precision(api, make_client):
    api.answer(api.ok(USD="3", GBP="1"))
    assert Converter(make_client()).rate("USD", "GBP") == Decimal(1) / Decimal(3)


def test_same_currency_is_rate_1_without_a_request(api, make_client):
    converter = Converter(make_client())
    assert converter.rate("usd", "USD") == Decimal(1)
    assert converter.convert(Decimal("7.5"), "GBP", "gbp") == Decimal("7.50")
    assert api.requests == []


def test_default_base_is_eur_and_one_fetch_serves_every_pair(api, converter):
    converter.rate("USD", "GBP")
    converter.convert(Decimal(3), "JPY", "EUR")
    assert [r.url.params["base"] for r in api.requests] == ["EUR"]


def test_a_given_base_is_requested_in_upper_case(api, make_client):
    api.answer(api.ok("USD", EUR="0.8", GBP="0.64"))
    converter = Converter(make_client(), "usd")
    assert converter.convert(Decimal(10), "EUR", "GBP") == Decimal("8.00")
    assert converter.rate("USD", "EUR") == Decimal("0.8")
    assert api.requests[0].url.params["base"] == "USD"


@pytest.mark.parametrize(
    ("amount", "from_", "to", "expected"),
    [
        (Decimal("100"), "EUR", "USD", "125.00"),
        (Decimal("100"), "USD", "EUR", "80.00"),
        (Decimal("2.50"), "GBP", "JPY", "500.00"),
        (Decimal("1"), "JPY", "USD", "0.01"),  # 0.0078125
        (Decimal("0.5"), "EUR", "GBP", "0.40"),
        (7, "EUR", "USD", "8.75"),
        (0, "EUR", "USD", "0.00"),
        (Decimal("0.001"), "EUR", "GBP", "0.00"),
    ],
)
def test_convert_multiplies_by_the_rate_and_rounds_to_cents(converter, amount, from_, to, expected):
    result = converter.convert(amount, from_, to)
    assert result == Decimal(expected)
    assert str(result) == expected  # exactly two decimal places


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("0.1", "0.12"), ("0.3", "0.38"), ("0.5", "0.62"), ("0.7", "0.88"), ("0.02", "0.02")],
)
def test_convert_rounds_half_to_even(converter, amount, expected):
    # EUR -> USD is 1.25: 0.1 -> 0.125, 0.3 -> 0.375, 0.5 -> 0.625, 0.7 -> 0.875, 0.02 -> 0.025
    assert str(converter.convert(Decimal(amount), "EUR", "USD")) == expected


def test_same_currency_still_rounds_to_two_places(api, make_client):
    converter = Converter(make_client())
    assert str(converter.convert(Decimal("5"), "EUR", "EUR")) == "5.00"
    assert str(converter.convert(Decimal("0.125"), "USD", "USD")) == "0.12"
    assert str(converter.convert(Decimal("0.135"), "USD", "USD")) == "0.14"


@pytest.mark.parametrize("amount", [1.5, "10", True, False, None, [1]], ids=repr)
def test_amounts_that_are_not_decimal_or_int_are_type_errors(api, make_client, amount):
    with pytest.raises(TypeError):
        Converter(make_client()).convert(amount, "EUR", "USD")
    assert api.requests == []


@pytest.mark.parametrize(
    "amount",
    [Decimal("-0.01"), -1, Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"),
     Decimal("-Infinity")],
    ids=str,
)
def test_negative_nan_and_infinite_amounts_are_invalid(api, make_client, amount):
    with pytest.raises(InvalidAmount) as caught:
        Converter(make_client()).convert(amount, "EUR", "USD")
    assert caught.value.amount is amount
    assert api.requests == []


def test_the_amount_is_checked_before_the_codes(api, make_client):
    converter = Converter(make_client())
    with pytest.raises(InvalidAmount):
        converter.convert(Decimal(-1), "EURO", "??")
    with pytest.raises(TypeError):
        converter.convert(1.0, "EURO", "??")


def test_an_unlisted_code_is_unknown_currency_in_upper_case(converter):
    with pytest.raises(UnknownCurrency) as caught:
        converter.convert(Decimal(1), "EUR", "chf")
    assert caught.value.currency == "CHF"
    with pytest.raises(UnknownCurrency) as caught:
        converter.rate("xau", "USD")
    assert caught.value.currency == "XAU"


def test_when_both_codes_are_unlisted_the_error_names_from(converter):
    with pytest.raises(UnknownCurrency) as caught:
        converter.rate("CHF", "SEK")
    assert caught.value.currency == "CHF"


def test_errors_of_the_client_propagate_unchanged(api, make_client):
    api.answer(403)
    converter = Converter(make_client())
    with pytest.raises(AuthError):
        converter.convert(Decimal(1), "EUR", "USD")
    api.answer(404)
    with pytest.raises(RateUnavailable):
        converter.rate("USD", "GBP")


def test_conversions_use_the_client_cache(api, make_client, clock):
    api.answer(api.ok())
    converter = Converter(make_client(ttl=60))
    converter.convert(Decimal(1), "EUR", "USD")
    clock.advance(59)
    converter.convert(Decimal(1), "USD", "GBP")
    assert len(api.requests) == 1
    clock.advance(1)
    converter.convert(Decimal(1), "USD", "GBP")
    assert len(api.requests) == 2


def test_converter_errors_are_rates_errors():
    assert issubclass(UnknownCurrency, RatesError)
    assert issubclass(InvalidAmount, RatesError)
    assert not issubclass(InvalidAmount, InvalidOperation)
