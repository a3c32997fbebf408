"""The supplier scorecards of the sample company's period, computed after its billing run."""

from __future__ import annotations

from django.contrib.auth.models import User

from billguard.procurement.scorecards import ScorecardRun, vendor_scores_compute
from billguard.sample.company import PERIOD

# The procurement user of the sample company computes the scorecards.
SCORECARD_USER = "pat.procurement"


def sample_scorecards_compute() -> ScorecardRun:
    """Compute and store every vendor's scorecard of the sample period (2026-11)."""
    return vendor_scores_compute(period=PERIOD, by=User.objects.get(username=SCORECARD_USER))
