"""The API's error type and its JSON body."""

from starlette.responses import JSONResponse


class ApiError(Exception):
    """An error answered to the client as `{"error": {"code", "message"}}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def invalid(message: str) -> ApiError:
    """A 422 `validation_error`."""
    return ApiError(422, "validation_error", message)


def not_found(what: str) -> ApiError:
    """A 404 `not_found`."""
    return ApiError(404, "not_found", f"no such {what}")


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """The JSON response for one error."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
