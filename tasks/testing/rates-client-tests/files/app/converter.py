"""Converter: converts amounts between currencies through the rates of one base currency."""

from decimal import ROUND_HALF_EVEN, Decimal

from app.cache import Rates
from app.client import RatesClient
from app.currency import normalize
from app.errors import InvalidAmount, UnknownCurrency

CENT = Decimal("0.01")


class Converter:
    """Cross rates through `base`: rate(a, b) = rates[b] / rates[a]."""

    def __init__(self, client: RatesClient, base: str = "EUR") -> None:
        self._client = client
        self._base = normalize(base)

    def rate(self, from_: str, to: str) -> Decimal:
        """Units of `to` that one unit of `from_` buys, unrounded."""
        source, target = normalize(from_), normalize(to)
        if source == target:
            return Decimal(1)
        rates = self._client.get_rates(self._base)
        source_rate = _listed(rates, source)
        return _listed(rates, target) / source_rate

    def convert(self, amount: Decimal | int, from_: str, to: str) -> Decimal:
        """`amount` of `from_` in `to`, rounded to cents, half to even."""
        value = _checked(amount)
        return (value * self.rate(from_, to)).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _listed(rates: Rates, code: str) -> Decimal:
    if code not in rates:
        raise UnknownCurrency(code)
    return rates[code]


def _checked(amount: object) -> Decimal:
    """The amount as a Decimal: TypeError for other types, InvalidAmount below 0 or not finite."""
    # bool is an int, but True is not an amount
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal):
        raise TypeError(f"amount must be a Decimal or an int, not {type(amount).__name__}")
    value = Decimal(amount)
    if not value.is_finite() or value < 0:
        raise InvalidAmount(amount)
    return value
