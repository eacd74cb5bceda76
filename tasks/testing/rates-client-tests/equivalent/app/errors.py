"""Exceptions; every one of them is a RatesError."""


class RatesError(Exception):
    """Root of this package's exceptions."""


class RateUnavailable(RatesError):
    """No rates could be had for a base currency."""

    def __init__(self, base: str, status: int | None, attempts: int) -> None:
        self.base, self.status, self.attempts = base, status, attempts

    def __str__(self) -> str:
        return f"{self.base}: no rates ({self.attempts} attempts, last answer {self.status})"


class AuthError(RatesError):
    """The API key was refused."""

    def __init__(self, status: int) -> None:
        self.status = status

    def __str__(self) -> str:
        return f"API key refused with HTTP {self.status}"


class InvalidAmount(RatesError):
    """A negative or non-finite amount."""

    def __init__(self, amount: object) -> None:
        self.amount = amount

    def __str__(self) -> str:
        return f"cannot convert {self.amount!r}"


class UnknownCurrency(RatesError):
    """A malformed or unlisted currency code."""

    def __init__(self, currency: object) -> None:
        self.currency = currency

    def __str__(self) -> str:
        return f"no such currency: {self.currency!r}"
