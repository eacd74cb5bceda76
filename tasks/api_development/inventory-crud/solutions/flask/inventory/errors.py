"""Every error leaves the API as {"error": {"code": ..., "message": ...}}."""

from __future__ import annotations

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError


class ApiError(Exception):
    """An error answered to the client with a status, a snake_case code and a message."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(ApiError):
    status = 422
    code = "validation_error"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


def error_response(status: int, code: str, message: str) -> Response:
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    return response


def _snake_case(name: str) -> str:
    return "_".join(name.lower().replace("'", "").split())


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError) -> Response:
        return error_response(error.status, error.code, error.message)

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException) -> Response:
        status = error.code or 500
        name = error.name or "Error"
        response = error_response(status, _snake_case(name), error.description or name)
        for header, value in error.get_headers():
            if header.lower() != "content-type":
                response.headers[header] = value
        return response

    @app.errorhandler(InternalServerError)
    def handle_internal_error(error: InternalServerError) -> Response:
        # Flask has already logged the original exception with its traceback.
        return error_response(500, "internal_error", "Internal server error.")
