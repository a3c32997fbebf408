"""Stored snapshots of the dashboard figures, so the dashboard reads them in one query."""

from django.db import models


class KpiSnapshot(models.Model):
    """Every dashboard figure for the twelve months ending with ``through``, as JSON.

    ``figures`` is what billguard.insights.snapshot.figures_compute returns: amounts and
    ratios as decimal strings, missing values as null.
    """

    through = models.CharField(max_length=7, unique=True, help_text="Last month, YYYY-MM.")
    computed_at = models.DateTimeField()
    figures = models.JSONField()

    def __str__(self) -> str:
        return f"dashboard figures through {self.through} ({self.computed_at:%Y-%m-%d %H:%M})"
