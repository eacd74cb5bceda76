"""The single error body shape: {"error": {"code": ..., "message": ...}}."""

from starlette.responses import JSONResponse


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """An error response with the contract's body."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
