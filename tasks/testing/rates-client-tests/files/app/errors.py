"""The errors this package raises; all of them derive from RatesError."""


class RatesError(Exception):
    """Base class of every error of this package."""


class AuthError(RatesError):
    """The API refused the key (401 or 403). Never retried."""

    def __init__(self, status: int) -> None:
        self.status = status

    def __str__(self) -> str:
        return f"the rates API refused the key ({self.status})"


class RateUnavailable(RatesError):
    """The rates of a base currency could not be obtained."""

    def __init__(self, base: str, status: int | None, attempts: int) -> None:
        self.base = base
        self.status = status  # the last answer's status, None when it was a network error
        self.attempts = attempts

    def __str__(self) -> str:
        return (
            f"rates for {self.base} unavailable after {self.attempts} attempt(s),"
            f" last status {self.status}"
        )


class UnknownCurrency(RatesError):
    """A currency code that is malformed, or that the rates do not list."""

    def __init__(self, currency: object) -> None:
        self.currency = currency

    def __str__(self) -> str:
        return f"unknown currency {self.currency!r}"


class InvalidAmount(RatesError):
    """An amount that is negative, NaN or infinite."""

    def __init__(self, amount: object) -> None:
        self.amount = amount

    def __str__(self) -> str:
        return f"invalid amount {self.amount!r}"
