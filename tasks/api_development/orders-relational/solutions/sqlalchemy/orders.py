"""Placing an order: check, take the stock and store the order in one transaction."""

from collections import Counter
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from errors import InsufficientStock, Invalid
from models import Customer, Order, OrderItem, Product
from schemas import MAX_BIGINT, OrderIn


def _wanted(request: OrderIn) -> Counter[int]:
    """Units wanted per product (a product may be on several lines)."""
    wanted: Counter[int] = Counter()
    for line in request.items:
        if not 1 <= line.product_id <= MAX_BIGINT:
            raise Invalid(f"unknown product {line.product_id}")
        wanted[line.product_id] += line.quantity
    return wanted


def _lock_customer(session: Session, customer_id: int) -> None:
    """Hold the customer so that it cannot be deleted while the order is stored."""
    if not 1 <= customer_id <= MAX_BIGINT:
        raise Invalid(f"unknown customer {customer_id}")
    if session.get(Customer, customer_id, with_for_update={"key_share": True}) is None:
        raise Invalid(f"unknown customer {customer_id}")


def _lock_products(session: Session, wanted: Counter[int]) -> dict[int, Product]:
    """Lock the wanted products in id order (so that concurrent orders cannot deadlock)."""
    query = select(Product).where(Product.id.in_(wanted)).order_by(Product.id).with_for_update()
    products = {product.id: product for product in session.scalars(query)}
    missing = sorted(set(wanted) - set(products))
    if missing:
        raise Invalid(f"unknown products {missing}")
    short = [pid for pid in sorted(wanted) if products[pid].stock < wanted[pid]]
    if short:
        raise InsufficientStock(f"not enough stock for products {short}")
    return products


def place_order(session: Session, request: OrderIn) -> Order:
    """All or nothing: either every line's stock is taken and the order stored, or nothing."""
    wanted = _wanted(request)
    with session.begin():
        _lock_customer(session, request.customer_id)
        products = _lock_products(session, wanted)
        for product_id, quantity in wanted.items():
            products[product_id].stock -= quantity
        lines = [
            OrderItem(position=n, product_id=line.product_id, quantity=line.quantity,
                      unit_price=products[line.product_id].price)
            for n, line in enumerate(request.items)
        ]  # fmt: skip
        total = sum((line.quantity * line.unit_price for line in lines), Decimal(0))
        order = Order(customer_id=request.customer_id, status="placed", total=total, items=lines)
        session.add(order)
    return order
