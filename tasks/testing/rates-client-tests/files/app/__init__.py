"""An exchange-rates client and currency converter. The README is the specification."""

from app.client import RatesClient as RatesClient
from app.converter import Converter as Converter
from app.errors import AuthError as AuthError
from app.errors import InvalidAmount as InvalidAmount
from app.errors import RatesError as RatesError
from app.errors import RateUnavailable as RateUnavailable
from app.errors import UnknownCurrency as UnknownCurrency
