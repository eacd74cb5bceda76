"""Customers, products with stock, and orders whose lines take stock from products."""

from decimal import Decimal
from typing import Any

from django.db import models

CENT = Decimal("0.01")


def money(amount: Decimal) -> str:
    """An amount as a string with exactly two decimals, e.g. "12.50"."""
    return str(amount.quantize(CENT))


class Customer(models.Model):
    email = models.CharField(max_length=254, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        db_table = "customers"

    def __str__(self) -> str:
        return self.email

    def to_json(self) -> dict[str, Any]:
        return {"id": self.pk, "email": self.email, "name": self.name}


class Product(models.Model):
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=9, decimal_places=2)
    stock = models.IntegerField()

    class Meta:
        db_table = "products"
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="products_price_positive"),
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="products_stock_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name

    def to_json(self) -> dict[str, Any]:
        return {"id": self.pk, "name": self.name, "price": money(self.price), "stock": self.stock}


class Order(models.Model):
    PLACED = "placed"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=20, default=PLACED)
    total = models.DecimalField(max_digits=20, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "orders"
        indexes = [models.Index(fields=["customer", "-created_at", "-id"], name="orders_customer_newest")]

    def __str__(self) -> str:
        return f"order {self.pk}"

    def to_json(self, lines: list["OrderItem"]) -> dict[str, Any]:
        return {
            "id": self.pk,
            "customer_id": self.customer_id,
            "status": self.status,
            "items": [line.to_json() for line in lines],
            "total": money(self.total),
            "created_at": self.created_at.isoformat(),
        }


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.IntegerField()
    unit_price = models.DecimalField(max_digits=9, decimal_places=2)

    class Meta:
        db_table = "order_items"
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["order", "position"], name="order_items_order_position")]

    def __str__(self) -> str:
        return f"{self.quantity} x product {self.product_id}"

    def to_json(self) -> dict[str, Any]:
        return {"product_id": self.product_id, "quantity": self.quantity, "unit_price": money(self.unit_price)}
