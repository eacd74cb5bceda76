"""Inventory items API built with Flask."""

from __future__ import annotations

import os

from flask import Flask

from . import db, errors, items


def create_app() -> Flask:
    """Application factory: configuration from the environment, database pool, routes."""
    app = Flask(__name__)
    app.config.from_mapping(
        DATABASE_URL=os.environ["DATABASE_URL"],
        APP_SECRET=os.environ["APP_SECRET"],
        MAX_CONTENT_LENGTH=1024 * 1024,
    )

    db.init_app(app)
    errors.init_app(app)
    app.register_blueprint(items.bp)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
