"""The supplier scorecards of the month before the sample company's billing period, computed
after its billing run: the last month whose receipts and vendor invoices are complete."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User

from billguard.domain.periods import parse_period
from billguard.procurement.scorecards import ScorecardRun, vendor_scores_compute
from billguard.sample.company import PERIOD

# The procurement user of the sample company computes the scorecards.
SCORECARD_USER = "pat.procurement"


def sample_scorecards_compute() -> ScorecardRun:
    """Compute and store every vendor's scorecard of the month before the sample period
    (2026-10)."""
    return vendor_scores_compute(
        period=scorecard_period(), by=User.objects.get(username=SCORECARD_USER)
    )


def scorecard_period() -> str:
    """Return the month that ends the day before the sample period starts, as YYYY-MM."""
    previous = parse_period(PERIOD).start - dt.timedelta(days=1)
    return f"{previous.year:04d}-{previous.month:02d}"
