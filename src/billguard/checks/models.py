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
