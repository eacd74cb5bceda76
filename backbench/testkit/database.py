"""The superuser connection hidden tests use to check what the submission stored."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import TupleRow

CONNECT_TIMEOUT = 10
STATEMENT_TIMEOUT_MS = 10_000


class KitConnection(psycopg.Connection[TupleRow]):
    """A psycopg connection (autocommit) with small helpers for schema checks."""

    @classmethod
    def open(cls, conninfo: str) -> KitConnection:
        """Connect as the superuser; every statement is bounded in time."""
        return cls.connect(
            conninfo,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        )

    def columns(self, table: str) -> dict[str, str]:
        """{column name: data type} of a table of the current schema, e.g. {"id": "bigint"}."""
        rows = self.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
            (table,),
        ).fetchall()
        return {str(name): str(kind) for name, kind in rows}

    def constraints(self, table: str) -> dict[str, str]:
        """{constraint name: definition}, e.g. {"items_pkey": "PRIMARY KEY (id)"}."""
        rows = self.execute(
            "SELECT con.conname, pg_get_constraintdef(con.oid) FROM pg_constraint con "
            "JOIN pg_class rel ON rel.oid = con.conrelid "
            "JOIN pg_namespace ns ON ns.oid = rel.relnamespace "
            "WHERE ns.nspname = current_schema() AND rel.relname = %s ORDER BY con.conname",
            (table,),
        ).fetchall()
        return {str(name): str(definition) for name, definition in rows}

    def foreign_keys(self) -> set[tuple[str, str]]:
        """(child table, parent table) for every foreign key of the current schema."""
        rows = self.execute(
            "SELECT child.relname, parent.relname FROM pg_constraint con "
            "JOIN pg_class child ON child.oid = con.conrelid "
            "JOIN pg_class parent ON parent.oid = con.confrelid "
            "JOIN pg_namespace ns ON ns.oid = child.relnamespace "
            "WHERE con.contype = 'f' AND ns.nspname = current_schema()"
        ).fetchall()
        return {(str(child), str(parent)) for child, parent in rows}

    def tables(self) -> list[str]:
        """The tables of the current schema."""
        rows = self.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        ).fetchall()
        return [str(name) for (name,) in rows]

    def scalar(self, query: str, params: Any = None) -> Any:
        """The first column of the first row of `query`, or None."""
        row = self.execute(query, params).fetchone()
        return row[0] if row else None
