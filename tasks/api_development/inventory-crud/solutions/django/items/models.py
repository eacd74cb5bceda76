"""The inventory item table."""

from typing import Any

from django.db import models

MAX_QUANTITY = 2_147_483_647


class Item(models.Model):
    name = models.CharField(max_length=100, unique=True)
    sku = models.CharField(max_length=64, null=True)
    price = models.FloatField()
    quantity = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "items"
        indexes = [
            models.Index(fields=["created_at", "id"], name="items_created_at_id"),
            models.Index(fields=["price", "id"], name="items_price_id"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="items_price_positive"),
            models.CheckConstraint(condition=models.Q(quantity__gte=0), name="items_quantity_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.pk,
            "name": self.name,
            "sku": self.sku,
            "price": self.price,
            "quantity": self.quantity,
            "created_at": self.created_at.isoformat(),
        }
