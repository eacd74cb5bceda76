"""The HTTP client of the rates API."""

import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from types import TracebackType

import httpx

from app.codes import canonical_code
from app.errors import AuthError, RateUnavailable

RateTable = dict[str, Decimal]
REFUSED = frozenset({401, 403})


def _as_rate(raw: object) -> Decimal | None:
    try:
        number = Decimal(raw) if isinstance(raw, str) else Decimal(repr(raw))
    except InvalidOperation:
        return None
    if not number.is_finite() or number.is_signed() or number.is_zero():
        return None
    return number


def _decode(response: httpx.Response, wanted: str) -> RateTable | None:
    """The table of a 200 answer, or None when the body is not what the API promises."""
    try:
        payload = response.json()
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("base") != wanted:
        return None
    listed = payload.get("rates")
    if not isinstance(listed, dict):
        return None
    table: RateTable = {}
    for name, raw in listed.items():
        number = _as_rate(raw)
        if number is None:
            return None
        table[name] = number
    return {**table, wanted: Decimal(1)}


class RatesClient:
    """Fetches `{base_url}/v1/rates?base=XXX`, retrying server and network failures."""

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
        problems = [
            name
            for name, bad in (
                ("timeout", timeout <= 0),
                ("retries", retries < 0),
                ("backoff", backoff < 0),
                ("ttl", ttl < 0),
            )
            if bad
        ]
        if problems:
            raise ValueError(f"out of range: {', '.join(problems)}")
        self._client = httpx.Client(
            base_url=base_url,
            transport=transport,
            timeout=httpx.Timeout(timeout),
        )
        self._key = api_key
        self._max_attempts = 1 + retries
        self._delay = backoff
        self._lifetime = ttl
        self._now = clock
        self._wait = sleep
        self._store: dict[str, tuple[RateTable, float]] = {}

    def __enter__(self) -> "RatesClient":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the HTTP client (and so its transport)."""
        self._client.close()

    def get_rates(self, base: str = "EUR") -> RateTable:
        """Units of every listed currency per unit of `base` (which maps to 1)."""
        wanted = canonical_code(base)
        hit = self._lookup(wanted)
        if hit is None:
            hit = self._download(wanted)
            self._store[wanted] = (hit, self._now())
        return hit.copy()

    def _lookup(self, wanted: str) -> RateTable | None:
        if wanted not in self._store:
            return None
        table, since = self._store[wanted]
        if self._now() - since >= self._lifetime:
            return None
        return table

    def _download(self, wanted: str) -> RateTable:
        made = 0
        last: int | None = None
        while made < self._max_attempts:
            if made:
                self._wait(self._delay * (1 << (made - 1)))
            made += 1
            try:
                response = self._client.get(
                    "/v1/rates", params={"base": wanted}, headers=[("X-Api-Key", self._key)]
                )
            except httpx.TransportError:
                last = None
                continue
            last = response.status_code
            if last == 200:
                table = _decode(response, wanted)
                if table is None:
                    break
                return table
            if last in REFUSED:
                raise AuthError(last)
            if last < 500:
                break
        raise RateUnavailable(wanted, last, made)
