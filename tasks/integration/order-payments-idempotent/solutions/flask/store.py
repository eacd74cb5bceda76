"""The orders table and its connection pool."""

from __future__ import annotations

import os

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

DATABASE_URL = os.environ["DATABASE_URL"]


def create_schema() -> None:
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(
            """
            CREATE TABLE IF NOT EXISTS orders (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                amount integer NOT NULL,
                currency char(3) NOT NULL,
                status varchar(6) NOT NULL DEFAULT 'unpaid',
                charge_id text,
                payment_key varchar(200) NOT NULL UNIQUE
            )
            """
        )


pool = ConnectionPool(
    DATABASE_URL, min_size=1, max_size=16, open=True,
    kwargs={"row_factory": dict_row},
)  # fmt: skip
