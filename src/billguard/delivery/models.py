"""Invoice templates, the rules that pick them, invoicing contacts and the delivery log."""

from django.db import models

from billguard.billing.models import Invoice
from billguard.registry.models import BillToEntity, Party
from billguard.registry.models.contracts import ContractType


class InvoiceTemplate(models.Model):
    """The layout of an invoice PDF: its language, title, texts and accent colour."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    # ISO 639-1 code of the template's texts, such as "en" or "de".
    language = models.CharField(max_length=2)
    title = models.CharField(max_length=60, default="Invoice")
    credit_note_title = models.CharField(max_length=60, default="Credit note")
    header_text = models.TextField(blank=True)
    footer_text = models.TextField(blank=True)
    payment_instructions = models.TextField(blank=True)
    # "#RRGGBB"
    accent_color = models.CharField(max_length=7, default="#1F4E79")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.code


class TemplateRule(models.Model):
    """Picks a template for the drafts it matches; an empty criterion matches every draft.

    Among the rules that match a draft, the most specific wins (a customer rule over a
    contract type rule over a language rule), then the highest priority.
    """

    priority = models.IntegerField(default=0)
    party = models.ForeignKey(
        Party, null=True, blank=True, on_delete=models.PROTECT, related_name="template_rules"
    )
    contract_type = models.CharField(max_length=20, choices=ContractType.choices, blank=True)
    language = models.CharField(max_length=2, blank=True)
    template = models.ForeignKey(InvoiceTemplate, on_delete=models.PROTECT, related_name="rules")
    created_at = models.DateTimeField(auto_now_add=True)


class InvoicingContact(models.Model):
    """A person who receives the invoices of a bill-to entity by email.

    A bill-to entity without invoicing contacts gets its invoices at its ``contact_email``.
    The first contact (lowest position, then id) sets the invoice language.
    """

    bill_to = models.ForeignKey(
        BillToEntity, on_delete=models.CASCADE, related_name="invoicing_contacts"
    )
    name = models.CharField(max_length=200)
    email = models.EmailField()
    language = models.CharField(max_length=2)
    position = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["bill_to_id", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["bill_to", "email"], name="invoicing_contact_email_per_bill_to"
            )
        ]


class InvoiceDelivery(models.Model):
    """The outbox row and log of one issued invoice's email: written when it is issued."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed", "failed after every retry"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="deliveries")
    # Chosen by the template rules when the invoice was issued; empty when none matched.
    template = models.ForeignKey(
        InvoiceTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recipients = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
