"""Per-client fixed-window counter in Redis; each window starts at the client's first request."""

import hashlib
import math
from dataclasses import dataclass

from redis.asyncio import Redis

LIMIT = 20
WINDOW_MS = 60_000

# Atomic on the Redis server, so the limit holds across every worker process.
_HIT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


@dataclass(frozen=True)
class Verdict:
    """The client's request count in its current window and the time left in it."""

    count: int
    ttl_ms: int

    @property
    def allowed(self) -> bool:
        return self.count <= LIMIT

    @property
    def remaining(self) -> int:
        return max(0, LIMIT - self.count)

    @property
    def retry_after(self) -> int:
        return min(60, max(1, math.ceil(self.ttl_ms / 1000)))

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"x-ratelimit-limit", str(LIMIT).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
        ]


class RateLimiter:
    """Counts one request per call; the count decides whether it is allowed."""

    def __init__(self, redis: Redis) -> None:
        self._hit = redis.register_script(_HIT)

    async def hit(self, client_id: bytes) -> Verdict:
        key = "ratelimit:" + hashlib.sha256(client_id).hexdigest()
        count, ttl_ms = await self._hit(keys=[key], args=[WINDOW_MS])
        return Verdict(count=int(count), ttl_ms=int(ttl_ms))
