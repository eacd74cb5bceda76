"""structlog for the app, and the same JSON rendering for every standard-library logger
(gunicorn's, psycopg's): one JSON object per line on stdout, with ts, level and event."""

from __future__ import annotations

import logging.config
import sys
from typing import Any

import structlog

TIMESTAMP = structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts")
SHARED = [structlog.contextvars.merge_contextvars, structlog.processors.add_log_level, TIMESTAMP]

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": structlog.stdlib.ProcessorFormatter,
            "processors": [
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
            "foreign_pre_chain": SHARED,
        }
    },
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
    },
    "root": {"level": "INFO", "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
}


def configure() -> None:
    logging.config.dictConfig(LOGGING)
    logging.captureWarnings(True)
    structlog.configure(
        processors=[*SHARED, structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
