"""Customer contract lines priced from a vendor cost, and the vendor cost changes they await."""

from django.db import models

from billguard.procurement.models.orders import PurchaseOrderLine
from billguard.registry.models import Contract, Party
from billguard.registry.models.fields import percent_field, price_field


class CostLink(models.Model):
    """Ties a customer contract line (by its stable line code) to the vendor cost behind it."""

    class Basis(models.TextChoices):
        AT_COST = "at_cost", "pass-through at cost"
        COST_PLUS = "cost_plus", "cost plus a margin"
        MILESTONE = "milestone", "milestone schedule mirrored from the vendor's"

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="cost_links")
    line_code = models.CharField(max_length=40)
    basis = models.CharField(max_length=10, choices=Basis.choices)
    vendor = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="cost_links")
    po_line = models.ForeignKey(
        PurchaseOrderLine,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cost_links",
    )
    vendor_document_family = models.CharField(
        max_length=80, blank=True, help_text="Family of the vendor agreement the cost comes from."
    )
    vendor_document_revision = models.PositiveIntegerField(null=True, blank=True)
    margin_percent = percent_field(null=True, blank=True, help_text="Cost plus only.")
    agreed_cost = price_field(help_text="The vendor unit cost the customer terms were set from.")
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contract", "line_code"], name="cost_link_line")
        ]


class CostChange(models.Model):
    """A vendor cost that differs from the one a linked customer line was priced from."""

    class Source(models.TextChoices):
        PO_AMENDMENT = "po_amendment", "purchase order amendment"
        VENDOR_AGREEMENT = "vendor_agreement", "vendor agreement revision"
        VENDOR_INVOICE = "vendor_invoice", "vendor invoice at a new price"

    class Status(models.TextChoices):
        OPEN = "open"
        AMENDED = "amended", "customer terms amended"
        APPROVED = "approved", "difference approved"

    link = models.ForeignKey(CostLink, on_delete=models.CASCADE, related_name="changes")
    source = models.CharField(max_length=20, choices=Source.choices)
    reference = models.CharField(max_length=120, help_text="Order and revision, document, invoice.")
    old_cost = price_field()
    new_cost = price_field()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    detected_at = models.DateTimeField(auto_now_add=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    change_request_id = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status"])]
        ordering = ["link_id", "detected_at", "pk"]
