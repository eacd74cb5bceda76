"""What both services share: the error body, the rules of skus and integers, the queue's name."""

from __future__ import annotations

import re
from typing import Any

from fastapi.responses import JSONResponse

QUEUE = "fulfilment:queue"
SKU = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message


def error_body(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def is_int(value: Any, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def invalid(message: str) -> ApiError:
    return ApiError(422, "validation_error", message)
