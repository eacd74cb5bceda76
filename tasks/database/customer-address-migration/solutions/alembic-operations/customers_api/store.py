"""The SQL of the customers service (parameters only, never pasted values).

A customer's addresses live in `addresses`; at most one of them is primary, the one a customer
is shown with. Address changes of one customer are serialised on the customer's row.
"""

from typing import Any

import psycopg

from customers_api.schemas import AddressIn, CustomerIn, NewAddressIn

ADDRESS_COLUMNS = "id, customer_id, street, city, postal_code, country, label, is_primary"
# a customer with its primary address, if any, as the columns a_<name>
CUSTOMER_SELECT = """
    SELECT c.id, c.name, c.email,
           a.id AS a_id, a.customer_id AS a_customer_id, a.street AS a_street,
           a.city AS a_city, a.postal_code AS a_postal_code, a.country AS a_country,
           a.label AS a_label, a.is_primary AS a_is_primary
    FROM customers AS c
    LEFT JOIN addresses AS a ON a.customer_id = c.id AND a.is_primary
"""


class EmailTaken(Exception):
    """Another customer already has this email."""


class NoSuchCustomer(Exception):
    """No customer has this id."""


def _customer(row: dict[str, Any]) -> dict[str, Any]:
    """A customer row joined with its primary address, shaped as the API answers it."""
    address = None
    if row["a_id"] is not None:
        address = {key[2:]: value for key, value in row.items() if key.startswith("a_")}
    return {"id": row["id"], "name": row["name"], "email": row["email"], "primary_address": address}


def _insert_address(
    conn: psycopg.Connection[Any], customer_id: int, address: AddressIn, primary: bool
) -> dict[str, Any]:
    row = conn.execute(
        "INSERT INTO addresses (customer_id, street, city, postal_code, country, label, is_primary)"
        f" VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {ADDRESS_COLUMNS}",
        (
            customer_id,
            address.street,
            address.city,
            address.postal_code,
            address.country,
            address.label,
            primary,
        ),
    ).fetchone()
    assert row is not None
    return dict(row)


def insert_customer(conn: psycopg.Connection[Any], body: CustomerIn) -> dict[str, Any]:
    """Store a new customer, and its address as its primary one, in one transaction."""
    try:
        with conn.transaction():
            row = conn.execute(
                "INSERT INTO customers (name, email) VALUES (%s, %s) RETURNING id, name, email",
                (body.name, body.email),
            ).fetchone()
            assert row is not None
            customer = {**row, "primary_address": None}
            if body.address is not None:
                customer["primary_address"] = _insert_address(
                    conn, row["id"], body.address, primary=True
                )
    except psycopg.errors.UniqueViolation as exc:
        raise EmailTaken(body.email) from exc
    return customer


def find_customer(conn: psycopg.Connection[Any], customer_id: int) -> dict[str, Any] | None:
    """The customer with its primary address, or None."""
    row = conn.execute(f"{CUSTOMER_SELECT} WHERE c.id = %s", (customer_id,)).fetchone()
    return _customer(row) if row else None


def customer_page(
    conn: psycopg.Connection[Any], limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of customers by id, and how many there are in all."""
    total = conn.execute("SELECT count(*) AS n FROM customers").fetchone()
    rows = conn.execute(
        f"{CUSTOMER_SELECT} ORDER BY c.id LIMIT %s OFFSET %s", (limit, offset)
    ).fetchall()
    assert total is not None
    return [_customer(row) for row in rows], int(total["n"])


def customer_addresses(conn: psycopg.Connection[Any], customer_id: int) -> list[dict[str, Any]]:
    """Every address of the customer, by id."""
    if conn.execute("SELECT 1 FROM customers WHERE id = %s", (customer_id,)).fetchone() is None:
        raise NoSuchCustomer(customer_id)
    rows = conn.execute(
        f"SELECT {ADDRESS_COLUMNS} FROM addresses WHERE customer_id = %s ORDER BY id",
        (customer_id,),
    ).fetchall()
    return [dict(row) for row in rows]


def add_address(
    conn: psycopg.Connection[Any], customer_id: int, body: NewAddressIn
) -> dict[str, Any]:
    """Add an address; it is primary when asked, or when the customer has none yet."""
    with conn.transaction():
        # the customer's row lock orders concurrent additions: one primary at a time
        locked = conn.execute(
            "SELECT id FROM customers WHERE id = %s FOR UPDATE", (customer_id,)
        ).fetchone()
        if locked is None:
            raise NoSuchCustomer(customer_id)
        if body.is_primary:
            conn.execute(
                "UPDATE addresses SET is_primary = false WHERE customer_id = %s AND is_primary",
                (customer_id,),
            )
            primary = True
        else:
            current = conn.execute(
                "SELECT id FROM addresses WHERE customer_id = %s AND is_primary", (customer_id,)
            ).fetchone()
            primary = current is None
        return _insert_address(conn, customer_id, body, primary)
