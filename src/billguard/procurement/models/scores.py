"""Supplier scorecards: one stored score per vendor and period, for trends and alerts."""

from django.db import models

from billguard.registry.models import Party


class VendorScore(models.Model):
    vendor = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="scores")
    period = models.CharField(max_length=7, help_text="YYYY-MM")
    components = models.JSONField(help_text="Each component's measure and points, by name.")
    score = models.DecimalField(max_digits=6, decimal_places=2)
    computed_at = models.DateTimeField(auto_now=True)
    alerted = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vendor", "period"], name="vendor_score_period")
        ]
        ordering = ["vendor_id", "period"]
