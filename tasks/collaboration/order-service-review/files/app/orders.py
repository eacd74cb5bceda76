"""Orders: placing them against the stock, and reading them back."""

from dataclasses import dataclass

import psycopg
from psycopg.rows import dict_row


@dataclass(frozen=True)
class LineRequest:
    """One line of an order as the customer asks for it."""

    product_id: int
    quantity: int


class OutOfStock(Exception):
    """A product of the order is unknown or has fewer units in stock than ordered."""

    def __init__(self, product_id: int) -> None:
        super().__init__(f"product {product_id} is not available in that quantity")
        self.product_id = product_id


def place_order(
    conn: psycopg.Connection, customer_id: int, lines: list[LineRequest]
) -> dict:
    """Take the ordered units out of stock and record the order, all or nothing."""
    with conn.transaction():
        prices: dict[int, int] = {}
        # products are locked in id order, so two orders cannot deadlock on each other
        for line in sorted(lines, key=lambda line: line.product_id):
            row = conn.execute(
                "UPDATE products SET stock = stock - %s"
                " WHERE id = %s AND stock >= %s RETURNING price_cents",
                (line.quantity, line.product_id, line.quantity),
            ).fetchone()
            if row is None:
                raise OutOfStock(line.product_id)
            prices[line.product_id] = row[0]
        totals = [prices[line.product_id] * line.quantity for line in lines]
        order_id = conn.execute(
            "INSERT INTO orders (customer_id, total_cents) VALUES (%s, %s) RETURNING id",
            (customer_id, sum(totals)),
        ).fetchone()[0]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO order_lines (order_id, line_no, product_id, quantity,"
                " unit_price_cents, line_total_cents) VALUES (%s, %s, %s, %s, %s, %s)",
                [
                    (order_id, no, line.product_id, line.quantity,
                     prices[line.product_id], total)
                    for no, (line, total) in enumerate(zip(lines, totals, strict=True), start=1)
                ],
            )
    return get_order(conn, customer_id, order_id)


def get_order(conn: psycopg.Connection, customer_id: int, order_id: int) -> dict | None:
    """One order of this customer with its lines; None when the customer has no such order."""
    with conn.cursor(row_factory=dict_row) as cur:
        order = cur.execute(
            "SELECT id, status, total_cents, created_at FROM orders"
            " WHERE id = %s AND customer_id = %s",
            (order_id, customer_id),
        ).fetchone()
        if order is None:
            return None
        order["lines"] = cur.execute(
            "SELECT line_no, product_id, quantity, unit_price_cents, line_total_cents"
            " FROM order_lines WHERE order_id = %s ORDER BY line_no",
            (order_id,),
        ).fetchall()
    return order


def list_orders(
    conn: psycopg.Connection, customer_id: int, limit: int, offset: int
) -> list[dict]:
    """One page of this customer's orders, newest first, without their lines."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, status, total_cents, created_at FROM orders"
            " WHERE customer_id = %s ORDER BY id DESC LIMIT %s OFFSET %s",
            (customer_id, limit, offset),
        ).fetchall()
