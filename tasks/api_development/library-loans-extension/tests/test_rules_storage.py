"""The database: the loans table, its foreign keys, its own refusal of a second open loan, and
a start-up on a database that holds only the tables of the code before loans."""

from __future__ import annotations

import psycopg
import pytest
from library_requests import available, give_back, new_book, new_loan, new_member


def pk_column(db, table: str) -> str:
    return db.scalar(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
        " ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
        " WHERE i.indrelid = %s::regclass AND i.indisprimary",
        (table,),
    )


def fk_column(db, child: str, parent: str) -> str:
    return db.scalar(
        "SELECT a.attname FROM pg_constraint c JOIN pg_attribute a"
        " ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
        " WHERE c.contype = 'f' AND c.conrelid = %s::regclass AND c.confrelid = %s::regclass",
        (child, parent),
    )


def copied_columns(db) -> list[str]:
    """The columns of loans a copy of a row takes over: all but those the database fills."""
    rows = db.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = 'loans'"
        " AND is_identity = 'NO' AND is_generated = 'NEVER' AND column_default IS NULL"
        " ORDER BY ordinal_position"
    ).fetchall()
    return [name for (name,) in rows]


def insert_copy(db, loan_id: int, book_id: int) -> int | None:
    """Store a copy of a loan's row for `book_id`, straight into the database; its primary key."""
    columns = copied_columns(db)
    book_col, key = fk_column(db, "loans", "books"), pk_column(db, "loans")
    values = ", ".join("%(book)s" if c == book_col else f'"{c}"' for c in columns)
    names = ", ".join(f'"{c}"' for c in columns)
    return db.scalar(
        f'INSERT INTO loans ({names}) SELECT {values} FROM loans WHERE "{key}" = %(loan)s'
        f' RETURNING "{key}"',
        {"book": book_id, "loan": loan_id},
    )


@pytest.mark.rules("db-loans-table")
def test_loans_are_stored_in_a_table_that_references_members_and_books(authed_api, unique, db):
    assert "loans" in db.tables()
    keys = db.foreign_keys()
    assert ("loans", "members") in keys and ("loans", "books") in keys
    member, book = new_member(authed_api, unique), new_book(authed_api, unique)
    loan = new_loan(authed_api, member["id"], book["id"])
    key = pk_column(db, "loans")
    stored = db.execute(
        f'SELECT "{fk_column(db, "loans", "members")}", "{fk_column(db, "loans", "books")}"'
        f' FROM loans WHERE "{key}" = %s',
        (loan["id"],),
    ).fetchone()
    assert stored == (member["id"], book["id"])


@pytest.mark.rules("db-one-open-loan")
def test_the_database_itself_refuses_a_second_open_loan_of_a_book(authed_api, unique, db):
    member, book, other = (
        new_member(authed_api, unique),
        new_book(authed_api, unique),
        new_book(authed_api, unique),
    )
    loan = new_loan(authed_api, member["id"], book["id"])
    # a copy for another book is stored: the table takes open loans of different books
    copy = insert_copy(db, loan["id"], other["id"])
    assert copy is not None
    db.execute(f'DELETE FROM loans WHERE "{pk_column(db, "loans")}" = %s', (copy,))
    with pytest.raises((psycopg.errors.UniqueViolation, psycopg.errors.ExclusionViolation)):
        insert_copy(db, loan["id"], book["id"])
    # once the loan is returned, the book may be lent again
    give_back(authed_api, loan["id"])
    assert new_loan(authed_api, member["id"], book["id"])["book_id"] == book["id"]


@pytest.mark.rules("start-on-old-schema")
def test_start_up_adds_loans_to_a_database_of_the_code_before_them(
    api, authed_api, unique, db, server
):
    member, book = new_member(authed_api, unique), new_book(authed_api, unique)
    server.terminate()
    # what a database of the starting code holds: books and members, no loans
    db.execute("DROP TABLE IF EXISTS loans CASCADE")
    server.restart()
    assert api.get(f"/v1/members/{member['id']}").json() == member
    loan = new_loan(authed_api, member["id"], book["id"])
    assert available(api, book["id"]) is False
    assert give_back(authed_api, loan["id"]).status_code == 200
