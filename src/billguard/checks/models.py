"""Stored findings of the checks, kept with the draft they were found on."""

from django.db import models

from billguard.billing.models import BillingRun, Invoice
from billguard.registry.models.fields import money_field


class StoredFinding(models.Model):
    class Severity(models.TextChoices):
        BLOCK = "block"
        WARN = "warn"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="findings")
    billing_run = models.ForeignKey(BillingRun, null=True, blank=True, on_delete=models.SET_NULL)
    code = models.CharField(max_length=40)
    severity = models.CharField(max_length=5, choices=Severity.choices)
    subject = models.CharField(max_length=200)
    message = models.CharField(max_length=500)
    expected = models.CharField(max_length=200, blank=True)
    actual = models.CharField(max_length=200, blank=True)
    amount_at_stake = money_field(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    evidence = models.JSONField(default=dict)
    # A blocking finding of a check in observe mode: recorded, but the draft was not held.
    observed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["code"])]


class ExternalDraftCheck(models.Model):
    """A stored check of one invoice drafted by another system, with its findings.

    The draft itself stays in that system. Billguard records what it was sent and what the
    checks found, and ``blocked`` is true when the draft would be held.
    """

    class Source(models.TextChoices):
        API = "api"  # POST /api/guard/?store=true
        STRIPE = "stripe"  # Stripe's invoice.created webhook

    source = models.CharField(max_length=20, choices=Source.choices)
    # The draft's identifier in its system: the Stripe invoice id, or the draft's invoice number.
    external_id = models.CharField(max_length=255, blank=True)
    # The delivery's event id (Stripe's evt_...); a redelivered event is recorded once.
    event_id = models.CharField(max_length=255, blank=True)
    document_number = models.CharField(max_length=255, blank=True)
    contract_number = models.CharField(max_length=100, blank=True)
    currency = models.CharField(max_length=3)
    payable = money_field()
    # The draft as the checks read it (billguard.checks.external.document_as_json).
    document = models.JSONField()
    # Each finding as Finding.as_dict() returns it.
    findings = models.JSONField(default=list)
    blocked = models.BooleanField()
    # Facts of the source that the checks do not read, such as Stripe's due date and totals.
    details = models.JSONField(default=dict)
    # Who or what sent the draft: a user name, or "stripe webhook".
    sent_by = models.CharField(max_length=150)
    user = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    as_of = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["source", "external_id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "event_id"],
                condition=~models.Q(event_id=""),
                name="external_check_event_once",
            )
        ]
