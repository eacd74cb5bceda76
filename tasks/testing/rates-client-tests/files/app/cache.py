"""A small time-to-live cache of rates; the clock is injected so that expiry can be tested."""

from collections.abc import Callable
from decimal import Decimal

Rates = dict[str, Decimal]


class TTLCache:
    """Values stay fresh while fewer than `ttl` seconds of `clock` have passed since put."""

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, Rates]] = {}

    def get(self, key: str) -> Rates | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored_at, value = entry
        return value if self._clock() - stored_at < self._ttl else None

    def put(self, key: str, value: Rates) -> None:
        self._entries[key] = (self._clock(), value)
