"""Exchange rates over HTTP and conversions between currencies (see the README)."""

from app.client import RatesClient
from app.converter import Converter
from app.errors import (
    AuthError,
    InvalidAmount,
    RatesError,
    RateUnavailable,
    UnknownCurrency,
)

__all__ = [
    "RatesClient",
    "Converter",
    "RatesError",
    "AuthError",
    "RateUnavailable",
    "UnknownCurrency",
    "InvalidAmount",
]
