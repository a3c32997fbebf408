"""The sources of drafts: billing schedules, usage records, timesheets, milestone acceptances.

A billing schedule is what finance will invoice. It starts as a copy of a contract version
but is maintained (or imported from a legacy billing system) on its own, so it can drift from
the signed terms. The checks compare the drafts made from it with the contract.
"""

from django.db import models

from billguard.registry.models.contracts import Cadence, Contract, LineKind
from billguard.registry.models.fields import percent_field, price_field, quantity_field
from billguard.registry.models.parties import BillToEntity


class BillingSchedule(models.Model):
    class Source(models.TextChoices):
        REGISTRY = "registry", "created from the contract"
        LEGACY = "legacy", "imported from a legacy billing system"

    contract = models.OneToOneField(Contract, on_delete=models.PROTECT, related_name="schedule")
    bill_to = models.ForeignKey(BillToEntity, null=True, blank=True, on_delete=models.PROTECT)
    currency = models.CharField(max_length=3)
    cadence = models.CharField(max_length=10, choices=Cadence.choices)
    billing_day = models.PositiveSmallIntegerField(default=1)
    customer_po = models.CharField(max_length=60, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.REGISTRY)
    external_ref = models.CharField(max_length=80, blank=True)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True, help_text="Last day billed.")
    updated_at = models.DateTimeField(auto_now=True)


class BillingScheduleLine(models.Model):
    """A line to invoice from ``effective_from`` up to, not including, ``effective_to``.

    A recurring fixed line carries a quantity. Usage and time-and-materials lines take theirs
    from the records of the period, and a milestone line is billed in the period containing
    ``bill_on``.
    """

    schedule = models.ForeignKey(BillingSchedule, on_delete=models.CASCADE, related_name="lines")
    line_code = models.CharField(max_length=40)
    kind = models.CharField(max_length=20, choices=LineKind.choices)
    description = models.CharField(max_length=200)
    unit_code = models.CharField(max_length=3, default="C62")
    quantity = quantity_field(null=True, blank=True)
    unit_price = price_field()
    discount_percent = percent_field(null=True, blank=True)
    gl_account = models.CharField(max_length=20, blank=True)
    tax_category = models.CharField(max_length=2, blank=True)
    tax_rate = percent_field(null=True, blank=True)
    exemption_reason = models.CharField(max_length=200, blank=True)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    bill_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["schedule_id", "line_code", "effective_from"]


class UsageRecord(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="usage_records")
    line_code = models.CharField(max_length=40)
    service_date = models.DateField()
    quantity = quantity_field()
    external_id = models.CharField(max_length=80, unique=True)

    class Meta:
        indexes = [models.Index(fields=["contract", "service_date"])]


class Timesheet(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="timesheets")
    line_code = models.CharField(max_length=40)
    work_date = models.DateField()
    hours = quantity_field()
    person = models.CharField(max_length=120)
    external_id = models.CharField(max_length=80, unique=True)

    class Meta:
        indexes = [models.Index(fields=["contract", "work_date"])]


class MilestoneAcceptance(models.Model):
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="milestone_acceptances"
    )
    line_code = models.CharField(max_length=40)
    accepted_on = models.DateField()
    accepted_by = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "line_code"], name="milestone_accepted_once"
            )
        ]
