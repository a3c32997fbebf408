"""Delegations: an approver hands their approval rights to a colleague for a period."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from billguard.controls.models import Delegation
from billguard.controls.roles import authorize
from billguard.controls.services import audit_record
from billguard.domain.errors import InvalidInput


@transaction.atomic
def delegation_create(
    *,
    by: User,
    delegate: User,
    starts_on: dt.date,
    ends_on: dt.date,
    reason: str = "",
    today: dt.date | None = None,
) -> Delegation:
    """Let ``delegate`` approve for ``by`` from ``starts_on`` to ``ends_on`` (both included).

    A delegate's approval counts with ``by``'s roles. It never counts on a request that the
    delegate or ``by`` made, and ``by`` is counted once per request, whoever acts. A
    delegation that ended before ``today`` (default: the local date) is rejected; the sample
    company passes its fixed as-of date.
    """
    authorize(by, "delegation_create")
    if delegate.pk == by.pk:
        raise InvalidInput(
            f"{by.get_username()} cannot delegate to themselves.",
            place="delegate",
            value=delegate.get_username(),
            fix="Name another user as the delegate.",
        )
    if not delegate.is_active:
        raise InvalidInput(
            f"user {delegate.get_username()} is not active.",
            place="delegate",
            value=delegate.get_username(),
            fix="Name an active user as the delegate.",
        )
    if ends_on < starts_on:
        raise InvalidInput(
            f"the delegation ends on {ends_on}, before it starts on {starts_on}.",
            place="ends_on",
            value=ends_on,
            fix="Give an end date on or after the start date.",
        )
    if ends_on < (today or timezone.localdate()):
        raise InvalidInput(
            f"the delegation ends on {ends_on}, which is in the past.",
            place="ends_on",
            value=ends_on,
            fix="Give an end date of today or later.",
        )
    delegation = Delegation.objects.create(
        delegator=by,
        delegate=delegate,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason.strip()[:300],
    )
    audit_record(
        actor=by.get_username(),
        action="delegation.create",
        record=delegation,
        before=None,
        after={
            "delegator": by.get_username(),
            "delegate": delegate.get_username(),
            "starts_on": starts_on,
            "ends_on": ends_on,
        },
        reason=delegation.reason,
    )
    return delegation


def delegations_active(delegate: User, on: dt.date) -> list[Delegation]:
    """Return the delegations ``delegate`` acts under on ``on``, oldest first."""
    return list(
        Delegation.objects.filter(
            delegate=delegate,
            starts_on__lte=on,
            ends_on__gte=on,
            revoked_at__isnull=True,
            delegator__is_active=True,
        )
        .select_related("delegator")
        .order_by("starts_on", "pk")
    )
