"""Invoices, credit notes and payments as another system issued them, imported as history.

These rows are a copy of what the accounting system (QuickBooks Online, Xero) holds. They are
never billed or changed by Billguard; the leakage audit re-prices them against the contract
terms in force at their service dates. ``external_id`` is the source system's own key, so a
second import of the same export updates nothing.
"""

from django.db import models

from billguard.registry.models import BillToEntity, Contract, Party
from billguard.registry.models.fields import money_field, percent_field, price_field, quantity_field


class Source(models.TextChoices):
    QUICKBOOKS = "quickbooks", "QuickBooks Online"
    XERO = "xero", "Xero"
    CSV = "csv", "CSV with a saved column mapping"


class ImportedInvoice(models.Model):
    class DocumentType(models.TextChoices):
        INVOICE = "invoice"
        CREDIT_NOTE = "credit_note", "credit note"

    source = models.CharField(max_length=12, choices=Source.choices)
    external_id = models.CharField(max_length=80)
    document_type = models.CharField(
        max_length=12, choices=DocumentType.choices, default=DocumentType.INVOICE
    )
    number = models.CharField(max_length=60)
    # The customer as the source names it, and the party and bill-to it was matched to. Both
    # stay empty when no match was found, and the audit reports such invoices.
    customer_name = models.CharField(max_length=200)
    party = models.ForeignKey(
        Party, null=True, blank=True, on_delete=models.PROTECT, related_name="imported_invoices"
    )
    bill_to = models.ForeignKey(BillToEntity, null=True, blank=True, on_delete=models.PROTECT)
    contract = models.ForeignKey(
        Contract, null=True, blank=True, on_delete=models.PROTECT, related_name="imported_invoices"
    )
    issue_date = models.DateField()
    due_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    line_extension = money_field(default=0)
    tax_total = money_field(default=0)
    total = money_field(default=0)
    # What was still unpaid on the export's date, as the source reported it.
    balance = money_field(null=True, blank=True)
    credited_invoice = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    imported_at = models.DateTimeField()
    # QuickBooks Online's Memo or Xero's Reference, where contract and invoice numbers are found.
    reference = models.CharField(max_length=400, blank=True)
    # SHA-256 of the document as read (fields and lines), so that an unchanged document is
    # skipped by a second import and a changed one is replaced.
    content_sha256 = models.CharField(max_length=64, blank=True)
    history_import = models.ForeignKey(
        "HistoryImport", null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="imported_invoice_external_id"
            )
        ]
        indexes = [
            models.Index(fields=["contract", "issue_date"]),
            models.Index(fields=["party", "issue_date"]),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.number}"


class ImportedInvoiceLine(models.Model):
    invoice = models.ForeignKey(ImportedInvoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    # The source's product or item code, and the contract line it was matched to.
    item_code = models.CharField(max_length=80, blank=True)
    line_code = models.CharField(max_length=40, blank=True)
    description = models.CharField(max_length=400, blank=True)
    quantity = quantity_field()
    unit_price = price_field()
    net_amount = money_field()
    tax_code = models.CharField(max_length=40, blank=True)
    tax_rate = percent_field(null=True, blank=True)
    tax_amount = money_field(default=0)
    # Xero's Discount column: a percentage taken off quantity times unit price.
    discount_percent = percent_field(null=True, blank=True)
    account_code = models.CharField(max_length=40, blank=True)
    service_start = models.DateField(null=True, blank=True)
    service_end = models.DateField(null=True, blank=True, help_text="Last day of service.")

    class Meta:
        ordering = ["invoice_id", "position"]


class ImportedPayment(models.Model):
    source = models.CharField(max_length=12, choices=Source.choices)
    external_id = models.CharField(max_length=80)
    customer_name = models.CharField(max_length=200)
    party = models.ForeignKey(Party, null=True, blank=True, on_delete=models.PROTECT)
    received_on = models.DateField()
    currency = models.CharField(max_length=3)
    amount = money_field()
    reference = models.CharField(max_length=120, blank=True)
    imported_at = models.DateTimeField()
    content_sha256 = models.CharField(max_length=64, blank=True)
    history_import = models.ForeignKey(
        "HistoryImport", null=True, blank=True, on_delete=models.SET_NULL, related_name="payments"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="imported_payment_external_id"
            )
        ]


class ImportedPaymentAllocation(models.Model):
    payment = models.ForeignKey(
        ImportedPayment, on_delete=models.CASCADE, related_name="allocations"
    )
    invoice = models.ForeignKey(
        ImportedInvoice, on_delete=models.PROTECT, related_name="payment_allocations"
    )
    amount = money_field()


class HistoryImport(models.Model):
    """One import run that wrote something: who ran it, the files and what it changed."""

    source = models.CharField(max_length=12, choices=Source.choices)
    started_at = models.DateTimeField()
    user = models.CharField(max_length=150)
    # {"invoices": {"name": ..., "sha256": ...}, ...} for each file given.
    files = models.JSONField(default=dict)
    # Counts by record kind and outcome ({"invoices": {"created": 3, "updated": 0, ...}}).
    counts = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"{self.source} import {self.pk}"
