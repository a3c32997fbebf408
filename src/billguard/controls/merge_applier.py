"""Merges of duplicate parties, as change requests.

The request's target is the party to be merged and its change is
``{"merge_into": <survivor id>}``, with ``"across_countries": true`` when the two parties are
registered in different countries. Its field category is ``party_identity``. Once approved,
:func:`billguard.registry.party_merge.party_merge_execute` re-points the merged party's
records to the survivor and archives it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User

from billguard.controls.applier_values import target_int_id
from billguard.controls.appliers import register_applier
from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.controls.requests import change_request_create
from billguard.domain.errors import InvalidInput, NotFound, RuleViolation
from billguard.registry.models import Party
from billguard.registry.party_merge import merge_validate, party_merge_execute

PARTY_IDENTITY = "party_identity"
MERGE_FIELDS = ("merge_into", "across_countries")


def party_merge_request(
    *,
    survivor: Party,
    merged: Party,
    by: User,
    reason: str,
    across_countries: bool = False,
    channel: str = ChangeRequest.Channel.SERVICE,
) -> ChangeRequest:
    """Request the merge of ``merged`` into ``survivor``; an approver other than ``by``
    approves it with change_request_approve, which performs the merge."""
    changes: dict[str, Any] = {"merge_into": survivor.pk}
    if across_countries:
        changes["across_countries"] = True
    return change_request_create(
        by=by,
        target=Target.PARTY_MERGE,
        target_id=merged.pk,
        changes=changes,
        reason=reason,
        channel=channel,
    )


def party_by_reference(reference: str, *, place: str) -> Party:
    """Return the party whose code is ``reference``, or whose id it is when no code matches."""
    text = reference.strip()
    party = Party.objects.filter(code=text).first()
    if party is None and text.isdigit():
        party = Party.objects.filter(pk=int(text)).first()
    if party is None:
        raise NotFound(
            f"party {reference!r} was not found.",
            place=place,
            value=reference,
            fix="Give the party's code, such as CUST-0042, or its id.",
        )
    return party


@register_applier(Target.PARTY_MERGE)
class PartyMergeApplier:
    """Merges the target party into the party that ``merge_into`` names."""

    def label(self, target_id: str) -> str:
        merged = _party(target_id, "target_id")
        return f"party {merged.code} {merged.name}"

    def scope(self, target_id: str) -> tuple[str, str]:
        return _party(target_id, "target_id").customer_group, ""

    def categories(self, changes: dict[str, Any]) -> list[str]:
        # A merge always changes whom records belong to, whatever the policy's field table lists.
        return [PARTY_IDENTITY]

    def validate(
        self, target_id: str, changes: dict[str, Any], effective_from: dt.date | None
    ) -> None:
        for name in changes:
            if name not in MERGE_FIELDS:
                raise InvalidInput(
                    f"{name!r} is not part of a party merge.",
                    place=f"changes.{name}",
                    fix=f"Use only: {', '.join(MERGE_FIELDS)}.",
                )
        merged = _party(target_id, "target_id")
        survivor = _party(_survivor_id(changes), "changes.merge_into")
        merge_validate(survivor, merged, across_countries=_across_countries(changes))
        pending = (
            ChangeRequest.objects.filter(
                target=Target.PARTY_MERGE,
                target_id=str(merged.pk),
                status__in=(ChangeRequest.Status.PENDING, ChangeRequest.Status.APPROVED),
            )
            .values_list("pk", flat=True)
            .first()
        )
        if pending is not None:
            raise RuleViolation(
                f"party {merged.code} already has an open merge request, {pending}.",
                place="target_id",
                value=merged.code,
                fix=f"Decide or withdraw change request {pending} first.",
            )

    def snapshot(self, target_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        # A merge made stale by another merge of either party is not applied.
        merged = _party(target_id, "target_id")
        survivor = Party.objects.filter(pk=_survivor_id(changes)).first()
        return {
            "merged_into": merged.merged_into_id,
            "survivor_merged_into": survivor.merged_into_id if survivor else None,
        }

    def apply(self, request: ChangeRequest, *, by: User | None) -> dict[str, Any]:
        merge = party_merge_execute(
            survivor_id=_survivor_id(request.changes),
            merged_id=target_int_id(request.target_id, "party"),
            across_countries=_across_countries(request.changes),
            change_request_id=request.pk,
            by=by,
            reason=request.reason,
        )
        return {
            "merge": merge.pk,
            "survivor": merge.survivor.code,
            "merged": merge.merged.code,
            "repointed": {label: len(ids) for label, ids in merge.repointed.items()},
        }


def _party(target_id: Any, place: str) -> Party:
    party = Party.objects.filter(pk=target_int_id(str(target_id), "party")).first()
    if party is None:
        raise NotFound(
            f"party {target_id} was not found.",
            place=place,
            value=target_id,
            fix="Give the id of an existing party.",
        )
    return party


def _survivor_id(changes: dict[str, Any]) -> int:
    value = changes.get("merge_into")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise InvalidInput(
            f"merge_into {value!r} is not a party id.",
            place="changes.merge_into",
            value=value,
            fix='Give the id of the party that survives, such as {"merge_into": 42}.',
        )
    return int(value)


def _across_countries(changes: dict[str, Any]) -> bool:
    value = changes.get("across_countries", False)
    if not isinstance(value, bool):
        raise InvalidInput(
            f"across_countries {value!r} is not true or false.",
            place="changes.across_countries",
            value=value,
            fix="Give true to merge parties registered in different countries.",
        )
    return value
