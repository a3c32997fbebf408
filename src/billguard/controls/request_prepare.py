"""Checking a proposed change against its target before any request row exists."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import User

from billguard.controls.appliers import Applier, applier_for, applier_validate
from billguard.controls.approval_policy import change_sizes, policy_verdict
from billguard.controls.chain import json_normalize
from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.controls.roles import authorize, authorize_fields
from billguard.domain.errors import InvalidInput

# The action a requester needs for a target beyond change_request, on every channel.
TARGET_ACTIONS: dict[str, str] = {
    Target.POLICY: "policy_change",
    Target.INVOICE_OVERRIDE: "exception_override",
    Target.COST_CHANGE: "cost_link_manage",
    Target.PARTY_MERGE: "party_dedupe",
}

# Policy subjects that a target always carries, whichever channel makes the request.
TARGET_SUBJECTS: dict[str, tuple[str, ...]] = {
    Target.POLICY: ("policy",),
    Target.INVOICE_OVERRIDE: ("override",),
    Target.COST_CHANGE: ("price",),
    Target.PARTY_MERGE: ("party_identity",),
}


@dataclass(frozen=True)
class PreparedChange:
    """A validated change: the target's current values and the policy's verdict on it."""

    applier: Applier
    target_id: str
    label: str
    changes: dict[str, Any]
    categories: list[str]
    before: dict[str, Any]
    sizes: dict[str, Decimal]
    required: list[dict[str, Any]]
    mode: str

    def row_fields(self) -> dict[str, Any]:
        """Return the ChangeRequest fields that come from the validation and the policy."""
        return {
            "target_id": self.target_id,
            "target_label": self.label,
            "categories": self.categories,
            "changes": self.changes,
            "before": self.before,
            "required": self.required,
        }


def change_prepare(
    *,
    by: User,
    target: str,
    target_id: str | int,
    changes: Any,
    effective_from: dt.date | None,
    channel: str,
    subjects: Iterable[str] | None = None,
    sizes: Mapping[str, Decimal | int | str] | None = None,
) -> PreparedChange:
    """Validate ``changes`` against the target, check ``by`` may touch its fields, and take
    the policy's verdict. Raises InvalidInput naming the attribute for a bad change."""
    applier = applier_for(target)
    target_id = str(target_id)
    if not isinstance(changes, dict) or not changes:
        raise InvalidInput(
            "a change request needs at least one change.",
            place="changes",
            value=changes,
            fix='Give the new values by attribute, such as {"payment_terms_days": 45}.',
        )
    if channel not in ChangeRequest.Channel.values:
        raise InvalidInput(
            f"channel {channel!r} is unknown.",
            place="channel",
            value=channel,
            fix=f"Use one of: {', '.join(ChangeRequest.Channel.values)}.",
        )
    if target in TARGET_ACTIONS:
        authorize(by, TARGET_ACTIONS[target])
    categories = sorted(set(applier.categories(changes)))
    authorize_fields(by, categories)
    applier_validate(applier, target_id, changes, effective_from)

    before = json_normalize(applier.snapshot(target_id, changes))
    measured = change_sizes(changes, before)
    measured.update(_parse_sizes(sizes or {}))
    required, mode = policy_verdict(
        subjects=set(categories) | set(subjects or ()) | set(TARGET_SUBJECTS.get(target, ())),
        scope=applier.scope(target_id),
        sizes=measured,
    )
    return PreparedChange(
        applier=applier,
        target_id=target_id,
        label=applier.label(target_id)[:200],
        changes=json_normalize(changes),
        categories=categories,
        before=before,
        sizes=measured,
        required=required,
        mode=mode,
    )


def _parse_sizes(sizes: Mapping[str, Decimal | int | str]) -> dict[str, Decimal]:
    parsed = {}
    for subject, size in sizes.items():
        try:
            parsed[subject] = Decimal(str(size))
        except InvalidOperation:
            raise InvalidInput(
                f"the size {size!r} of {subject} is not a number.",
                place=f"sizes.{subject}",
                value=size,
                fix="Give the size as a number, such as 12 for a 12% discount.",
            ) from None
    return parsed
