"""Fixed 60-second windows aligned to the clock, counted in Redis with MULTI/EXEC."""

import hashlib
import math
import time
from dataclasses import dataclass

from redis.asyncio import Redis

LIMIT = 20
WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Decision:
    """Where this request puts its client in the current window."""

    count: int
    seconds_left: float

    @property
    def allowed(self) -> bool:
        return self.count <= LIMIT

    @property
    def headers(self) -> dict[str, str]:
        remaining = max(0, LIMIT - self.count)
        return {"X-RateLimit-Limit": str(LIMIT), "X-RateLimit-Remaining": str(remaining)}

    @property
    def retry_after(self) -> str:
        return str(min(WINDOW_SECONDS, max(1, math.ceil(self.seconds_left))))


async def count_request(redis: Redis, client_id: str) -> Decision:
    """Count one request of this client in the window that contains now."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    digest = hashlib.sha256(client_id.encode("latin-1")).hexdigest()
    key = f"notes:rate:{window}:{digest}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, 2 * WINDOW_SECONDS)
        count, _ = await pipe.execute()
    return Decision(count=int(count), seconds_left=(window + 1) * WINDOW_SECONDS - now)
