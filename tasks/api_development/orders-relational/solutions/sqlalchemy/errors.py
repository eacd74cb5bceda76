"""The API's errors: each becomes `{"error": {"code", "message"}}` with its status."""

from fastapi.responses import JSONResponse


class ApiError(Exception):
    """An error the client is told about."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(ApiError):
    status, code = 422, "validation_error"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class InsufficientStock(ApiError):
    status, code = 409, "insufficient_stock"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


def error_body(status: int, code: str, message: str) -> JSONResponse:
    """The JSON response for one error."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
