"""Quotes API (FastAPI, httpx, redis.asyncio): prices from the upstream feed, a per-symbol
error-rate window and the alert QuoteUpstreamErrors (alerting.py)."""

import asyncio
import hmac
import json
import math
import os
import re
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from alerting import WINDOW_MS, Alerting

APP_SECRET = os.environ["APP_SECRET"]
SYMBOL = re.compile(r"[A-Z0-9]{1,10}")
UPSTREAM_TIMEOUT = 1.0  # seconds from sending the call to its complete answer

state: dict = {}


@asynccontextmanager
async def lifespan(_app):
    alerting = Alerting(os.environ["REDIS_URL"])
    state["alerting"] = alerting
    state["upstream"] = httpx.AsyncClient(timeout=UPSTREAM_TIMEOUT)
    state["evaluator"] = asyncio.create_task(alerting.run())
    yield


app = FastAPI(lifespan=lifespan, redirect_slashes=False, openapi_url=None, docs_url=None)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        self.status, self.code, self.message = status, code, message


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


@app.exception_handler(ApiError)
async def api_error_handler(_request, exc: ApiError):
    return error(exc.status, exc.code, exc.message)


@app.exception_handler(404)
async def not_found_handler(_request, _exc):
    return error(404, "not_found", "no such resource")


def require_token(request: Request) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), APP_SECRET.encode()):
        raise ApiError(401, "unauthorized", "missing or wrong bearer token")


def valid_symbol(symbol: str) -> str:
    if not SYMBOL.fullmatch(symbol):
        raise ApiError(422, "validation_error", "a symbol is 1 to 10 characters A-Z or 0-9")
    return symbol


def price_of(body: object) -> tuple[float, str] | None:
    if not isinstance(body, dict):
        return None
    price, currency = body.get("price"), body.get("currency")
    if isinstance(price, bool) or not isinstance(price, int | float) or not math.isfinite(price):
        return None
    if not isinstance(currency, str):
        return None
    return price, currency


async def call_upstream(symbol: str) -> tuple[int, dict]:
    """The quote's status and body from one upstream call."""
    url = os.environ.get("UPSTREAM_URL", "").rstrip("/") + f"/v1/prices/{symbol}"
    try:
        async with asyncio.timeout(UPSTREAM_TIMEOUT):
            response = await state["upstream"].get(url)
    except TimeoutError:
        return 504, {"error": {"code": "upstream_timeout", "message": "no answer in 1 s"}}
    except httpx.HTTPError:
        return 502, {"error": {"code": "upstream_error", "message": "the upstream failed"}}
    if response.status_code == 404:
        return 404, {"error": {"code": "unknown_symbol", "message": "unknown symbol"}}
    if response.status_code == 200:
        try:
            found = price_of(json.loads(response.content))
        except ValueError:
            found = None
        if found:
            return 200, {"symbol": symbol, "price": found[0], "currency": found[1]}
    return 502, {"error": {"code": "upstream_error", "message": "the upstream failed"}}


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/v1/quotes/{symbol}")
async def get_quote(request: Request, symbol: str):
    require_token(request)
    valid_symbol(symbol)
    status, body = await call_upstream(symbol)
    await state["alerting"].evaluate(symbol, failed=status in (502, 504))
    return JSONResponse(body, status_code=status)


@app.get("/v1/error-rates/{symbol}")
async def get_error_rate(request: Request, symbol: str):
    require_token(request)
    valid_symbol(symbol)
    requests, failures, firing = await state["alerting"].window(symbol)
    return {
        "symbol": symbol, "window_seconds": WINDOW_MS // 1000, "requests": requests,
        "failures": failures, "error_rate": failures / requests if requests else 0,
        "firing": firing,
    }  # fmt: skip


@app.get("/v1/alerts")
async def list_alerts(request: Request):
    require_token(request)
    return {"alerts": await state["alerting"].firing()}
