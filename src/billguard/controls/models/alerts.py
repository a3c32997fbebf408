"""Alert subscriptions (email or webhook) and the log of every delivery attempt."""

from django.conf import settings
from django.db import models


class AlertEvent(models.TextChoices):
    CHANGE_REQUESTED = "change.requested", "billing-critical change requested"
    CHANGE_APPROVED = "change.approved", "billing-critical change approved"
    CHANGE_REJECTED = "change.rejected", "billing-critical change rejected"
    INVOICE_HELD = "invoice.held", "invoice held"
    INVOICE_ISSUED = "invoice.issued", "invoice issued"
    EXCEPTION_OVERDUE = "exception.overdue", "exception open past its deadline"
    APPROVAL_EXPIRING = "approval.expiring", "approval about to expire"
    EMERGENCY_CHANGE = "change.emergency", "change applied on the emergency path"
    VENDOR_DOCUMENT_EXPIRING = "vendor.document_expiring", "vendor document about to expire"
    VENDOR_SCORE_DROPPED = "vendor.score_dropped", "supplier score below its threshold"
    COST_CHANGED = "cost.changed", "vendor cost behind a customer line changed"


class AlertSubscription(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email"
        WEBHOOK = "webhook"

    event = models.CharField(max_length=30, choices=AlertEvent.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    address = models.CharField(max_length=500, help_text="Email address or webhook URL.")
    secret = models.CharField(max_length=128, blank=True, help_text="Webhook signing key.")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)


class AlertDelivery(models.Model):
    """One alert for one subscription, with its attempts; created in the event's transaction."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed", "failed after every retry"

    subscription = models.ForeignKey(
        AlertSubscription, on_delete=models.PROTECT, related_name="deliveries"
    )
    event = models.CharField(max_length=30)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
