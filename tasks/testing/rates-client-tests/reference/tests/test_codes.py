"""Currency codes: three ASCII letters, any case; anything else fails before a request."""

import pytest

from app import Converter, UnknownCurrency

MALFORMED = ["US", "USDT", "U$D", "ÉUR", "ÄBC", "US1", " US", "", "us ", None, 840, b"USD"]


@pytest.mark.parametrize("code", MALFORMED, ids=repr)
def test_get_rates_refuses_a_malformed_base_before_any_request(api, make_client, code):
    with pytest.raises(UnknownCurrency) as caught:
        make_client().get_rates(code)
    assert caught.value.currency == code
    assert api.requests == []


@pytest.mark.parametrize("code", MALFORMED, ids=repr)
def test_converter_refuses_a_malformed_base_when_created(make_client, code):
    with pytest.raises(UnknownCurrency) as caught:
        Converter(make_client(), code)
    assert caught.value.currency == code


@pytest.mark.parametrize("code", MALFORMED, ids=repr)
def test_rate_and_convert_refuse_malformed_codes_before_any_request(api, make_client, code):
    converter = Converter(make_client())
    for call in (
        lambda: converter.rate(code, "USD"),
        lambda: converter.rate("USD", code),
        lambda: converter.convert(1, code, "USD"),
        lambda: converter.convert(1, "EUR", code),
        lambda: converter.rate(code, code),
    ):
        with pytest.raises(UnknownCurrency) as caught:
            call()
        assert caught.value.currency == code
    assert api.requests == []


def test_a_malformed_from_is_reported_before_a_malformed_to(make_client):
    with pytest.raises(UnknownCurrency) as caught:
        Converter(make_client()).rate("EURO", "US")
    assert caught.value.currency == "EURO"
