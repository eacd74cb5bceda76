"""Placing an order: all or nothing, and never overselling under concurrency."""

from collections import Counter
from decimal import Decimal

from django.db import IntegrityError, transaction

from .errors import InsufficientStock, ValidationError
from .models import Customer, Order, OrderItem, Product


def place_order(customer_id: int, lines: list[tuple[int, int]]) -> tuple[Order, list[OrderItem]]:
    """Check the customer, lock the products, take their stock and store the order."""
    wanted: Counter[int] = Counter()
    for product_id, quantity in lines:
        wanted[product_id] += quantity
    try:
        with transaction.atomic():
            if not Customer.objects.filter(pk=customer_id).exists():
                raise ValidationError("customer_id names no customer.")
            # Lock the rows in id order, so that concurrent orders queue up instead of deadlocking.
            products = {p.pk: p for p in Product.objects.select_for_update().filter(pk__in=wanted).order_by("pk")}
            unknown = sorted(set(wanted) - set(products))
            if unknown:
                raise ValidationError(f"items name unknown products: {unknown}.")
            short = sorted(pk for pk, quantity in wanted.items() if products[pk].stock < quantity)
            if short:
                raise InsufficientStock(f"Not enough stock for products {short}.")
            for pk, quantity in wanted.items():
                products[pk].stock -= quantity
            Product.objects.bulk_update(products.values(), ["stock"])

            order_lines = [
                OrderItem(position=position, product_id=pk, quantity=quantity, unit_price=products[pk].price)
                for position, (pk, quantity) in enumerate(lines)
            ]
            total = sum((line.unit_price * line.quantity for line in order_lines), Decimal(0))
            order = Order.objects.create(customer_id=customer_id, status=Order.PLACED, total=total)
            for line in order_lines:
                line.order = order
            OrderItem.objects.bulk_create(order_lines)
    except IntegrityError:
        # The customer was deleted while the order was being placed.
        raise ValidationError("customer_id names no customer.") from None
    return order, order_lines
