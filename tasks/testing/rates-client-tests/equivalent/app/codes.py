"""The canonical form of a currency code."""

from string import ascii_letters

from app.errors import UnknownCurrency


def canonical_code(value: object) -> str:
    """Three ASCII letters, upper-cased; anything else is an UnknownCurrency."""
    if isinstance(value, str) and len(value) == 3 and all(ch in ascii_letters for ch in value):
        return value.upper()
    raise UnknownCurrency(value)
