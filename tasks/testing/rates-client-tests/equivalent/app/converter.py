"""Conversions through the rate table of one base currency."""

from decimal import ROUND_HALF_EVEN, Decimal, getcontext

from app.client import RatesClient
from app.codes import canonical_code
from app.errors import InvalidAmount, UnknownCurrency

TWO_PLACES = Decimal(1).scaleb(-2)


def _amount(raw: object) -> Decimal:
    if type(raw) is bool or not isinstance(raw, (Decimal, int)):
        raise TypeError(f"expected a Decimal or int amount, got {type(raw).__name__}")
    number = raw if isinstance(raw, Decimal) else Decimal(raw)
    if not number.is_finite() or (number.is_signed() and not number.is_zero()):
        raise InvalidAmount(raw)
    return number


class Converter:
    """Converts amounts; rates between two currencies are derived from the base's table."""

    def __init__(self, client: RatesClient, base: str = "EUR") -> None:
        self._base = canonical_code(base)
        self._rates_client = client

    def convert(self, amount: Decimal | int, from_: str, to: str) -> Decimal:
        """The converted amount, to the cent, ties to even."""
        number = _amount(amount)
        product = number * self.rate(from_, to)
        return product.quantize(TWO_PLACES, rounding=ROUND_HALF_EVEN)

    def rate(self, from_: str, to: str) -> Decimal:
        """The exact (context-precision) price of one `from_` in `to`."""
        first, second = canonical_code(from_), canonical_code(to)
        if first != second:
            table = self._rates_client.get_rates(self._base)
            divisor = table.get(first)
            if divisor is None:
                raise UnknownCurrency(first)
            dividend = table.get(second)
            if dividend is None:
                raise UnknownCurrency(second)
            return getcontext().divide(dividend, divisor)
        return Decimal(1)
