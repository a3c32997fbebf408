"""Purchase orders: our orders to vendors, line by line, with the GL account of each line."""

from django.db import models

from billguard.registry.models import Party, SellerEntity
from billguard.registry.models.fields import price_field, quantity_field


class PurchaseOrder(models.Model):
    """An order to a vendor (a party of kind vendor), placed by one of our seller entities."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        APPROVED = "approved"
        SENT = "sent", "sent to the vendor"
        RECEIVED = "received", "fully received"
        CLOSED = "closed"

    number = models.CharField(max_length=40, unique=True)
    vendor = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="purchase_orders")
    seller_entity = models.ForeignKey(SellerEntity, on_delete=models.PROTECT)
    currency = models.CharField(max_length=3)
    ordered_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)

    def __str__(self) -> str:
        return self.number


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="lines"
    )
    line_number = models.PositiveIntegerField()
    description = models.CharField(max_length=200)
    quantity = quantity_field()
    unit_price = price_field()
    gl_account = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_order", "line_number"], name="purchase_order_line_number"
            )
        ]
        ordering = ["purchase_order_id", "line_number"]
