"""Pieces both Flask services use: JSON errors and the field rules."""

import re

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

SKU_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
QUEUE_KEY = "fulfilment:queue"


class Refused(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def whole(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def install_errors(app: Flask) -> None:
    @app.errorhandler(Refused)
    def refused(ex):
        return jsonify(error={"code": ex.code, "message": ex.message}), ex.status

    @app.errorhandler(HTTPException)
    def http(ex):
        code = "not_found" if ex.code == 404 else (ex.name or "error").lower().replace(" ", "_")
        return jsonify(error={"code": code, "message": ex.description or ex.name}), ex.code
