"""The single error body ``{"error": {"code", "message"}}`` for every failure."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

log = logging.getLogger("inventory")
CODES = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "validation_error",
}


class ApiError(Exception):
    """A failure the handlers raise on purpose; rendered with its status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    """Build the error body for ``status``."""
    body = {"error": {"code": CODES.get(status, "http_error"), "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def _describe(error: dict) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body", "query"))
    return f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", "invalid")


async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 for any body, query or path parameter that breaks the rules."""
    message = "; ".join(_describe(error) for error in exc.errors()[:5]) or "invalid request"
    return error_response(422, message)


async def on_http_exception(request: Request, exc: HTTPException) -> JSONResponse:
    """The framework's own errors; an unparseable body (its 400) is a validation error here."""
    if exc.status_code == 400:
        return error_response(422, "the body is not valid JSON")
    return error_response(exc.status_code, str(exc.detail), exc.headers)


async def on_api_error(request: Request, exc: ApiError) -> JSONResponse:
    """Errors raised by the routes."""
    return error_response(exc.status, exc.message)


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Anything else: logged, answered as a generic 500."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    body = {"error": {"code": "internal_error", "message": "unexpected server error"}}
    return JSONResponse(body, status_code=500)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_exception)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(Exception, on_unexpected)
