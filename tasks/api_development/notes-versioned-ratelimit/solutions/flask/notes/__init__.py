"""Versioned notes API (v1 and v2 over one store) with per-client rate limiting, built with Flask."""

from __future__ import annotations

import os

from flask import Flask

from . import api, db, errors, ratelimit


def create_app() -> Flask:
    """Application factory: configuration from the environment, PostgreSQL, Redis, routes."""
    app = Flask(__name__)
    app.config.from_mapping(
        DATABASE_URL=os.environ["DATABASE_URL"],
        REDIS_URL=os.environ["REDIS_URL"],
        APP_SECRET=os.environ["APP_SECRET"],
        MAX_CONTENT_LENGTH=1024 * 1024,
    )

    db.init_app(app)
    ratelimit.init_app(app)
    errors.init_app(app)
    app.register_blueprint(api.v1)
    app.register_blueprint(api.v2)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
