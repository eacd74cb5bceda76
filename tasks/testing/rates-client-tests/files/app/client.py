"""RatesClient: fetches exchange rates over HTTP, with retries and a TTL cache."""

import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import Any

import httpx

from app.cache import Rates, TTLCache
from app.currency import normalize
from app.errors import AuthError, RateUnavailable


class RatesClient:
    """A client of the rates API: `GET {base_url}/v1/rates?base=<code>`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.1,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be greater than 0, not {timeout}")
        if retries < 0:
            raise ValueError(f"retries must be 0 or more, not {retries}")
        if backoff < 0:
            raise ValueError(f"backoff must be 0 or more, not {backoff}")
        if ttl < 0:
            raise ValueError(f"ttl must be 0 or more, not {ttl}")
        self._http = httpx.Client(base_url=base_url, transport=transport, timeout=timeout)
        self._api_key = api_key
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep
        self._cache = TTLCache(ttl, clock)

    def get_rates(self, base: str = "EUR") -> Rates:
        """How many units of each currency one unit of `base` buys; `base` itself is 1."""
        code = normalize(base)
        cached = self._cache.get(code)
        if cached is not None:
            return dict(cached)
        rates = self._fetch(code)
        self._cache.put(code, rates)
        return dict(rates)

    def close(self) -> None:
        """Close the HTTP client and its transport."""
        self._http.close()

    def __enter__(self) -> "RatesClient":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _fetch(self, code: str) -> Rates:
        attempts = self._retries + 1
        status: int | None = None
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                self._sleep(self._backoff * 2 ** (attempt - 2))
            try:
                response = self._http.get(
                    "/v1/rates", params={"base": code}, headers={"X-Api-Key": self._api_key}
                )
            except httpx.TransportError:
                status = None  # a timeout or a network error: retried like a 5xx
                continue
            status = response.status_code
            if status in (401, 403):
                raise AuthError(status)
            if status >= 500:
                continue
            if status != 200:
                raise RateUnavailable(code, status, attempt)
            return _parse(response, code, attempt)
        raise RateUnavailable(code, status, attempts)


def _parse(response: httpx.Response, code: str, attempt: int) -> Rates:
    """The rates of a 200 answer; a malformed one is RateUnavailable, not retried."""
    try:
        body: Any = response.json()
    except ValueError:
        raise RateUnavailable(code, response.status_code, attempt) from None
    if not isinstance(body, dict) or body.get("base") != code:
        raise RateUnavailable(code, response.status_code, attempt)
    listed = body.get("rates")
    if not isinstance(listed, dict):
        raise RateUnavailable(code, response.status_code, attempt)
    rates: Rates = {}
    for currency, value in listed.items():
        rate = _rate(value)
        if rate is None:
            raise RateUnavailable(code, response.status_code, attempt)
        rates[currency] = rate
    rates[code] = Decimal(1)
    return rates


def _rate(value: object) -> Decimal | None:
    """A JSON number or numeric string as a Decimal, if it is a finite rate above 0."""
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        return None
    return rate if rate.is_finite() and rate > 0 else None
