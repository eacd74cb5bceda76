"""The connection pool of DATABASE_URL, opened and closed with the app."""

import os

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

pool = ConnectionPool(
    conninfo=os.environ.get("DATABASE_URL", ""),
    min_size=2,
    max_size=10,
    open=False,
    kwargs={"row_factory": dict_row},
)
