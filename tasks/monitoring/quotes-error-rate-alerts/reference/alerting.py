"""The error-rate windows and the alert QuoteUpstreamErrors, kept in Redis so that every process
shares them. One Lua script counts a request and evaluates the rule atomically: of several
processes evaluating the same symbol at once, exactly one sees each transition."""

import asyncio
import hashlib
import hmac
import json
import os
import time
import uuid
from datetime import UTC, datetime

import httpx
import redis.asyncio as aioredis

APP_SECRET = os.environ["APP_SECRET"]
ALERT_NAME = "QuoteUpstreamErrors"
WINDOW_MS = 10_000
MIN_REQUESTS = 5
EVALUATE_EVERY = 0.25  # seconds between evaluations of every symbol (stated: at most 0.5)
NOTIFY_TIMEOUT = 2.0

ACTIVE = "quotes:active"  # set of the symbols whose window holds requests
FIRING = "quotes:firing"  # hash: symbol of a firing alert -> its starts_at

# KEYS: calls, failures, active, firing
# ARGV: now_ms, window_ms, symbol, now_text, member ('' to only evaluate), failed ('1'/'0'),
#       the fewest requests that may fire
EVALUATE = """
local now = tonumber(ARGV[1])
local cutoff = now - tonumber(ARGV[2])
if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  if ARGV[6] == '1' then redis.call('ZADD', KEYS[2], now, ARGV[5]) end
  redis.call('SADD', KEYS[3], ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 5000)
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]) + 5000)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', cutoff)
local requests = redis.call('ZCARD', KEYS[1])
local failures = redis.call('ZCARD', KEYS[2])
local starts = redis.call('HGET', KEYS[4], ARGV[3])
local holds = requests >= tonumber(ARGV[7]) and failures * 5 > requests
if requests == 0 then redis.call('SREM', KEYS[3], ARGV[3]) end
if holds and not starts then
  redis.call('HSET', KEYS[4], ARGV[3], ARGV[4])
  return {'firing', requests, failures, ARGV[4]}
end
if starts and not holds then
  redis.call('HDEL', KEYS[4], ARGV[3])
  return {'resolved', requests, failures, starts}
end
return {'', requests, failures, ''}
"""


def rfc3339(moment: float) -> str:
    stamp = datetime.fromtimestamp(moment, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def keys(symbol: str) -> list[str]:
    return [f"quotes:calls:{symbol}", f"quotes:failures:{symbol}", ACTIVE, FIRING]


class Alerting:
    """Counting, evaluating and notifying; one per process."""

    def __init__(self, redis_url: str) -> None:
        self.redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
        self.script = self.redis.register_script(EVALUATE)
        self.http = httpx.AsyncClient(timeout=NOTIFY_TIMEOUT)
        self.tasks: set[asyncio.Task] = set()

    async def evaluate(self, symbol: str, failed: bool | None = None) -> tuple[int, int]:
        """Count a request (failed or not) when `failed` is given, then evaluate the rule;
        notify a transition. Returns the window's requests and failures."""
        now = time.time()
        member = uuid.uuid4().hex if failed is not None else ""
        transition, requests, failures, starts = await self.script(
            keys=keys(symbol),
            args=[int(now * 1000), WINDOW_MS, symbol, rfc3339(now), member,
                  "1" if failed else "0", MIN_REQUESTS],
        )  # fmt: skip
        if transition:
            payload = {
                "status": transition, "alertname": ALERT_NAME, "symbol": symbol,
                "starts_at": starts, "ends_at": rfc3339(now) if transition == "resolved" else None,
                "requests": int(requests), "failures": int(failures),
            }  # fmt: skip
            task = asyncio.create_task(self.notify(payload))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return int(requests), int(failures)

    async def notify(self, payload: dict) -> None:
        body = json.dumps(payload).encode()
        signature = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Signature": f"sha256={signature}"}
        try:
            sink = os.environ["WEBHOOK_SINK_URL"].rstrip("/")
            await self.http.post(f"{sink}/hooks/alerts", content=body, headers=headers)
        except httpx.HTTPError:
            pass  # sent once: a failed delivery is not retried

    async def window(self, symbol: str) -> tuple[int, int, bool]:
        """The window now (an evaluation, which may make a transition) and the alert's state."""
        requests, failures = await self.evaluate(symbol)
        return requests, failures, await self.redis.hexists(FIRING, symbol)

    async def firing(self) -> list[dict]:
        alerts = sorted((await self.redis.hgetall(FIRING)).items())
        return [{"alertname": ALERT_NAME, "symbol": symbol, "status": "firing", "starts_at": starts}
                for symbol, starts in alerts]  # fmt: skip

    async def evaluate_all(self) -> None:
        """Evaluate every symbol with requests in its window or a firing alert (the script
        forgets a symbol once its window is empty)."""
        symbols = set(await self.redis.smembers(ACTIVE)) | set(await self.redis.hkeys(FIRING))
        for symbol in symbols:
            await self.evaluate(symbol)

    async def run(self) -> None:
        """Evaluate every symbol with requests in its window, or a firing alert, forever."""
        while True:
            try:
                await self.evaluate_all()
            except (aioredis.RedisError, OSError):
                pass  # Redis away for a moment: the next round evaluates again
            await asyncio.sleep(EVALUATE_EVERY)
