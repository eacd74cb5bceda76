"""Gunicorn's settings: two workers of eight threads, no access log of its own (the app writes
one), and its error log rendered as JSON lines by structlog like the app's."""

from logs import LOGGING

workers = 2
threads = 8
preload_app = True  # the schema is created once, in the master, before the workers fork
accesslog = None
logconfig_dict = LOGGING
