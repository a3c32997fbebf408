"""Stored findings of the procurement checks, kept with the order or vendor invoice they are on.

They have the same fields as the findings on customer drafts, and the exception queue lists
both.
"""

from django.db import models

from billguard.procurement.models.invoices import VendorInvoice
from billguard.procurement.models.orders import PurchaseOrder
from billguard.registry.models.fields import money_field


class ProcurementFinding(models.Model):
    class Severity(models.TextChoices):
        BLOCK = "block"
        WARN = "warn"

    vendor_invoice = models.ForeignKey(
        VendorInvoice, null=True, blank=True, on_delete=models.CASCADE, related_name="findings"
    )
    purchase_order = models.ForeignKey(
        PurchaseOrder, null=True, blank=True, on_delete=models.CASCADE, related_name="findings"
    )
    code = models.CharField(max_length=40)
    severity = models.CharField(max_length=5, choices=Severity.choices)
    subject = models.CharField(max_length=200)
    message = models.CharField(max_length=500)
    expected = models.CharField(max_length=200, blank=True)
    actual = models.CharField(max_length=200, blank=True)
    amount_at_stake = money_field(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    evidence = models.JSONField(default=dict)
    observed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["code"])]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(vendor_invoice__isnull=False, purchase_order__isnull=True)
                    | models.Q(vendor_invoice__isnull=True, purchase_order__isnull=False)
                ),
                name="procurement_finding_one_subject",
            )
        ]
