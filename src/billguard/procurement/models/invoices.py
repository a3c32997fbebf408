"""Vendor invoices, as entered, imported from CSV or read from UBL 2.1, with their lines."""

from django.db import models

from billguard.procurement.models.orders import PurchaseOrder, PurchaseOrderLine
from billguard.registry.models import Party, SellerEntity
from billguard.registry.models.fields import money_field, price_field, quantity_field


class VendorInvoice(models.Model):
    """An invoice a vendor sent us. It is paid only once it is matched or approved."""

    class Status(models.TextChoices):
        RECORDED = "recorded", "recorded, not checked yet"
        MATCHED = "matched", "matched, ready to pay"
        HELD = "held", "held by a blocking finding"
        APPROVED = "approved", "approved despite its findings"
        REJECTED = "rejected", "rejected, not to be paid"

    class Source(models.TextChoices):
        ENTERED = "entered"
        CSV = "csv"
        UBL = "ubl", "UBL 2.1"

    vendor = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="vendor_invoices")
    seller_entity = models.ForeignKey(
        SellerEntity, on_delete=models.PROTECT, help_text="Our legal entity the invoice is to."
    )
    purchase_order = models.ForeignKey(
        PurchaseOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    number = models.CharField(max_length=60, help_text="As the vendor wrote it.")
    normalized_number = models.CharField(
        max_length=60, help_text="Upper case, without spaces, punctuation or leading zeros."
    )
    issue_date = models.DateField()
    due_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    net_amount = money_field()
    tax_amount = money_field(default=0)
    gross_amount = money_field()
    payee_iban = models.CharField(max_length=34, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECORDED)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.ENTERED)
    source_file = models.CharField(max_length=300, blank=True)
    source_row = models.PositiveIntegerField(null=True, blank=True)
    source_sha256 = models.CharField(
        max_length=64,
        blank=True,
        help_text="SHA-256 of the imported file, so that importing it again records nothing.",
    )
    recorded_by = models.CharField(max_length=150, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["vendor", "normalized_number"]),
            models.Index(fields=["normalized_number"]),
            models.Index(fields=["status"]),
        ]

    def __str__(self) -> str:
        return f"{self.vendor_id} {self.number}"


class VendorInvoiceLine(models.Model):
    invoice = models.ForeignKey(VendorInvoice, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField()
    po_line = models.ForeignKey(
        PurchaseOrderLine,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoice_lines",
    )
    description = models.CharField(max_length=200, blank=True)
    quantity = quantity_field()
    unit_code = models.CharField(max_length=3, default="C62")
    unit_price = price_field()
    net_amount = money_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "line_number"], name="vendor_invoice_line_number"
            )
        ]
        ordering = ["invoice_id", "line_number"]
