"""Purchase orders to vendors, their lines and revisions, and the receipts against them."""

from django.db import models

from billguard.registry.models import Party, SellerEntity
from billguard.registry.models.fields import money_field, percent_field, price_field, quantity_field


class PurchaseOrder(models.Model):
    """An order to a vendor (a party of kind vendor), placed by one of our seller entities."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        APPROVED = "approved"
        SENT = "sent", "sent to the vendor"
        RECEIVED = "received", "fully received"
        CLOSED = "closed"
        HELD = "held", "held by a blocking finding"

    number = models.CharField(max_length=40, unique=True)
    vendor = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="purchase_orders")
    seller_entity = models.ForeignKey(SellerEntity, on_delete=models.PROTECT)
    currency = models.CharField(max_length=3)
    ordered_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    revision = models.PositiveIntegerField(
        default=1, help_text="Raised by each amendment of a line's price or quantity."
    )
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, null=True)
    decided_by = models.CharField(
        max_length=150, blank=True, help_text="Finance approver who approved or rejected it held."
    )
    decision_note = models.CharField(
        max_length=500, blank=True, help_text="Reason given when a held order was decided."
    )

    def __str__(self) -> str:
        return self.number


class PurchaseOrderLine(models.Model):
    class Kind(models.TextChoices):
        GOODS = "goods"
        SERVICE = "service"
        MILESTONE = "milestone"

    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="lines"
    )
    line_number = models.PositiveIntegerField()
    description = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SERVICE)
    category = models.CharField(
        max_length=60,
        blank=True,
        help_text="Spend category; match tolerances can be set per category.",
    )
    quantity = quantity_field()
    unit_code = models.CharField(max_length=3, default="C62", help_text="UN/ECE Rec 20 code.")
    unit_price = price_field()
    gl_account = models.CharField(max_length=20, blank=True)
    expected_on = models.DateField(
        null=True,
        blank=True,
        help_text="Promised delivery or milestone date, for on-time receipts.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_order", "line_number"], name="purchase_order_line_number"
            )
        ]
        ordering = ["purchase_order_id", "line_number"]


class PurchaseOrderLineChange(models.Model):
    """One amendment of a purchase order line: the old and new value of one field."""

    line = models.ForeignKey(PurchaseOrderLine, on_delete=models.CASCADE, related_name="changes")
    revision = models.PositiveIntegerField(help_text="The order's revision this change made.")
    field = models.CharField(max_length=20, help_text="unit_price or quantity")
    old_value = models.DecimalField(max_digits=20, decimal_places=6)
    new_value = models.DecimalField(max_digits=20, decimal_places=6)
    reason = models.CharField(max_length=500, blank=True)
    changed_by = models.CharField(max_length=150, blank=True)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["line_id", "revision", "pk"]


class Receipt(models.Model):
    """Goods or a service received against a purchase order line."""

    line = models.ForeignKey(PurchaseOrderLine, on_delete=models.PROTECT, related_name="receipts")
    quantity = quantity_field()
    received_on = models.DateField()
    reference = models.CharField(max_length=60, blank=True, help_text="Delivery note or sign-off.")
    recorded_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["line_id", "received_on", "pk"]


class MatchTolerance(models.Model):
    """How far a vendor invoice line may differ from its order line and receipts.

    The most specific row wins: vendor and category, then vendor, then category, then the
    row with neither (the default).
    """

    vendor = models.ForeignKey(
        Party, null=True, blank=True, on_delete=models.CASCADE, related_name="match_tolerances"
    )
    category = models.CharField(max_length=60, blank=True)
    quantity_percent = percent_field(default=0)
    unit_price_percent = percent_field(default=0)
    amount = money_field(default=0, help_text="Absolute difference allowed on a line's amount.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "category"],
                name="match_tolerance_scope",
                nulls_distinct=False,
            )
        ]
