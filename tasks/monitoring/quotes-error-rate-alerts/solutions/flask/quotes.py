"""Quotes API on Flask + gunicorn (threads, two worker processes), requests and redis-py.

Each symbol's window is two sorted sets in Redis; the alert's state is a Redis hash. A rule's
evaluation is one optimistic transaction (WATCH/MULTI): of several processes or threads
evaluating a symbol at once, only the one whose transaction commits a transition notifies it.
"""

import hashlib
import hmac
import json
import math
import os
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import redis
import requests
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

APP_SECRET = os.environ["APP_SECRET"]
ALERT_NAME = "QuoteUpstreamErrors"
WINDOW = 10.0  # seconds
MIN_REQUESTS = 5
TICK = 0.2  # seconds between evaluations of every symbol
UPSTREAM_TIMEOUT = 1.0
SYMBOL = re.compile(r"[A-Z0-9]{1,10}")
RECENT = "q:recent"  # zset symbol -> time of its latest counted request
FIRING = "q:firing"  # set of symbols whose alert fires

store = redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
upstream = requests.Session()
upstream.trust_env = False
sink = requests.Session()
sink.trust_env = False
senders = ThreadPoolExecutor(max_workers=4)
application = Flask(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        self.status, self.code, self.message = status, code, message


def error(status: int, code: str, message: str) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(body, status=status, mimetype="application/json")


@application.errorhandler(ApiError)
def on_api_error(exc: ApiError):
    return error(exc.status, exc.code, exc.message)


@application.errorhandler(HTTPException)
def on_http_error(exc: HTTPException):
    if exc.code == 404:
        return error(404, "not_found", "no such resource")
    return error(exc.code or 500, "method_not_allowed" if exc.code == 405 else "bad_request",
                 exc.name)  # fmt: skip


def authorize() -> None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), APP_SECRET.encode()):
        raise ApiError(401, "unauthorized", "missing or wrong bearer token")


def checked(symbol: str) -> str:
    if SYMBOL.fullmatch(symbol) is None:
        raise ApiError(422, "validation_error", "a symbol is 1 to 10 characters A-Z or 0-9")
    return symbol


def stamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


def names(symbol: str) -> tuple[str, str, str]:
    return f"q:{symbol}:all", f"q:{symbol}:failed", f"q:{symbol}:alert"


def window_counts(pipe, symbol: str, now: float) -> tuple[int, int]:
    every, failed, _ = names(symbol)
    return (pipe.zcount(every, f"({now - WINDOW}", "+inf"),
            pipe.zcount(failed, f"({now - WINDOW}", "+inf"))  # fmt: skip


def evaluate(symbol: str) -> None:
    """One evaluation of the symbol's rule; a transition it commits is notified once."""
    every, failed, alert = names(symbol)
    with store.pipeline() as pipe:
        while True:
            try:
                pipe.watch(every, failed, alert)
                now = time.time()
                total, failures = window_counts(pipe, symbol, now)
                started = pipe.hget(alert, "starts_at")
                holds = total >= MIN_REQUESTS and failures * 5 > total
                pipe.multi()
                if holds and started is None:
                    pipe.hset(alert, "starts_at", stamp(now))
                    pipe.sadd(FIRING, symbol)
                    pipe.execute()
                    notify("firing", symbol, stamp(now), None, total, failures)
                elif started is not None and not holds:
                    pipe.delete(alert)
                    pipe.srem(FIRING, symbol)
                    pipe.execute()
                    notify("resolved", symbol, started, stamp(now), total, failures)
                else:
                    pipe.reset()
                return
            except redis.WatchError:
                continue


def count(symbol: str, failure: bool) -> None:
    every, failed, _ = names(symbol)
    now, member = time.time(), uuid.uuid4().hex
    with store.pipeline() as pipe:
        pipe.zadd(every, {member: now})
        if failure:
            pipe.zadd(failed, {member: now})
        pipe.zremrangebyscore(every, "-inf", now - WINDOW)
        pipe.zremrangebyscore(failed, "-inf", now - WINDOW)
        pipe.expire(every, int(WINDOW) + 5)
        pipe.expire(failed, int(WINDOW) + 5)
        pipe.zadd(RECENT, {symbol: now})
        pipe.execute()
    evaluate(symbol)


def notify(status, symbol, starts_at, ends_at, total, failures) -> None:
    body = json.dumps({"status": status, "alertname": ALERT_NAME, "symbol": symbol,
                       "starts_at": starts_at, "ends_at": ends_at, "requests": total,
                       "failures": failures}).encode()  # fmt: skip
    digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    senders.submit(send, body, digest)


def send(body: bytes, digest: str) -> None:
    url = os.environ.get("WEBHOOK_SINK_URL", "").rstrip("/") + "/hooks/alerts"
    headers = {"Content-Type": "application/json", "X-Signature": f"sha256={digest}"}
    try:
        sink.post(url, data=body, headers=headers, timeout=2)
    except requests.RequestException:
        pass  # one attempt per transition, whatever happens


def evaluator() -> None:
    while True:
        try:
            now = time.time()
            symbols = set(store.zrangebyscore(RECENT, f"({now - WINDOW}", "+inf"))
            symbols |= store.smembers(FIRING)
            for symbol in symbols:
                evaluate(symbol)
            store.zremrangebyscore(RECENT, "-inf", now - WINDOW)
        except redis.RedisError:
            pass
        time.sleep(TICK)


threading.Thread(target=evaluator, name="alert-evaluator", daemon=True).start()


def fetch(symbol: str) -> tuple[int, dict]:
    url = os.environ.get("UPSTREAM_URL", "").rstrip("/") + f"/v1/prices/{symbol}"
    sent = time.monotonic()
    try:
        answer = upstream.get(url, timeout=(UPSTREAM_TIMEOUT, UPSTREAM_TIMEOUT))
    except requests.Timeout:
        return 504, {"error": {"code": "upstream_timeout", "message": "no answer within 1 s"}}
    except requests.RequestException:
        return 502, {"error": {"code": "upstream_error", "message": "the upstream failed"}}
    if time.monotonic() - sent > UPSTREAM_TIMEOUT:
        return 504, {"error": {"code": "upstream_timeout", "message": "no answer within 1 s"}}
    if answer.status_code == 404:
        return 404, {"error": {"code": "unknown_symbol", "message": "the upstream has no such symbol"}}
    if answer.status_code == 200:
        try:
            data = answer.json()
        except ValueError:
            data = None
        if isinstance(data, dict):
            price, currency = data.get("price"), data.get("currency")
            number = isinstance(price, int | float) and not isinstance(price, bool)
            if number and math.isfinite(price) and isinstance(currency, str):
                return 200, {"symbol": symbol, "price": price, "currency": currency}
    return 502, {"error": {"code": "upstream_error", "message": "the upstream failed"}}


def as_json(payload: dict, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


@application.get("/health")
def health():
    return as_json({"status": "ok"})


@application.get("/v1/quotes/<symbol>")
def quote(symbol: str):
    authorize()
    checked(symbol)
    status, payload = fetch(symbol)
    count(symbol, failure=status >= 500)
    return as_json(payload, status)


@application.get("/v1/error-rates/<symbol>")
def error_rate(symbol: str):
    authorize()
    checked(symbol)
    with store.pipeline(transaction=True) as pipe:
        every, failed, alert = names(symbol)
        now = time.time()
        pipe.zcount(every, f"({now - WINDOW}", "+inf")
        pipe.zcount(failed, f"({now - WINDOW}", "+inf")
        pipe.exists(alert)
        total, failures, firing = pipe.execute()
    return as_json({"symbol": symbol, "window_seconds": int(WINDOW), "requests": total,
                    "failures": failures, "error_rate": failures / total if total else 0,
                    "firing": bool(firing)})  # fmt: skip


@application.get("/v1/alerts")
def alerts():
    authorize()
    found = []
    for symbol in sorted(store.smembers(FIRING)):
        started = store.hget(names(symbol)[2], "starts_at")
        if started:
            found.append({"alertname": ALERT_NAME, "symbol": symbol, "status": "firing",
                          "starts_at": started})  # fmt: skip
    return as_json({"alerts": found})
