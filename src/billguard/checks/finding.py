"""Findings, the reports of checks. They are values, so a run collects all of them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from billguard.domain.money import Money


class Severity(enum.Enum):
    BLOCK = "block"  # the draft is held in the exception queue, unless the check is observed
    WARN = "warn"  # reported; the draft is still issued


@dataclass(frozen=True)
class Observation:
    """A check function's result: a finding without its code and severity."""

    subject: str  # what is wrong: "line L2", "bill-to", "invoice"
    message: str
    expected: str = ""
    actual: str = ""
    amount_at_stake: Money | None = None
    evidence: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """A check's report on a draft.

    ``observed`` marks a blocking finding of a check that the policy runs in observe mode:
    it keeps its severity and is reported, but it does not hold the draft.
    """

    code: str
    severity: Severity
    subject: str
    message: str
    expected: str = ""
    actual: str = ""
    amount_at_stake: Money | None = None
    evidence: dict[str, str] = field(default_factory=dict)
    observed: bool = False

    @property
    def blocks(self) -> bool:
        """Whether the finding holds its draft: blocking severity, and not observed."""
        return self.severity is Severity.BLOCK and not self.observed

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "subject": self.subject,
            "message": self.message,
            "expected": self.expected,
            "actual": self.actual,
            "amount_at_stake": str(self.amount_at_stake.amount)
            if self.amount_at_stake is not None
            else None,
            "currency": self.amount_at_stake.currency if self.amount_at_stake else None,
            "evidence": dict(self.evidence),
            "observed": self.observed,
        }
