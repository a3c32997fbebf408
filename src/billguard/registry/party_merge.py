"""Merging a duplicate party into the one that survives, and undoing the merge.

A merge re-points every row that the rules of :mod:`billguard.registry.merge_relations`
move from the merged party to the survivor, records their ids on a PartyMerge, archives the
merged party and marks their duplicate candidate merged, all in one transaction. It runs when
its change request is approved (``billguard.controls.merge_applier``). Issued invoices and
credit notes are not touched: they keep their bill-to entity and the buyer details stored on
them when they were issued.

An undo puts exactly the recorded rows back, unless an invoice was issued since the merge for
a contract or bill-to entity that the merge moved.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils import timezone

from billguard.billing.models import Invoice
from billguard.controls.roles import authorize
from billguard.controls.services import DEFAULT_ACTOR, audit_record
from billguard.domain.errors import InvalidInput, NotFound, RuleViolation
from billguard.registry.merge_relations import (
    CANDIDATE_MERGED,
    PRIMARY_DEMOTED,
    bank_accounts_to_demote,
    candidate_pair,
    party_relations,
    relation_kept,
    relation_rows,
    relations_unruled,
)
from billguard.registry.models import DuplicateCandidate, Party, PartyMerge, VendorBankAccount

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

CONTRACTS = "registry.contract.party"
BILL_TOS = "registry.billtoentity.party"
BANK_ACCOUNTS = "registry.vendorbankaccount.party"
CANDIDATE_FIELDS = ("registry.duplicatecandidate.party", "registry.duplicatecandidate.other_party")
OPEN_DRAFT_STATUSES = (Invoice.Status.DRAFT, Invoice.Status.HELD)


def merge_validate(survivor: Party, merged: Party, *, across_countries: bool) -> None:
    """Raise RuleViolation unless ``merged`` may be merged into ``survivor``."""
    if survivor.pk == merged.pk:
        raise RuleViolation(
            f"party {merged.code} cannot be merged into itself.",
            place="merge_into",
            value=survivor.code,
            fix="Name the party that survives and, separately, its duplicate.",
        )
    if survivor.kind != merged.kind:
        raise RuleViolation(
            f"party {merged.code} is a {merged.kind} and {survivor.code} is a {survivor.kind}; "
            "only parties of the same kind are merged.",
            place="merge_into",
            value=survivor.code,
            fix="Merge a customer into a customer, or a vendor into a vendor.",
        )
    for role, party in (("merged", merged), ("survivor", survivor)):
        if party.merged_into_id is not None:
            raise RuleViolation(
                f"party {party.code} ({role}) was already merged into "
                f"{party.merged_into.code if party.merged_into else party.merged_into_id}.",
                place="merge_into" if role == "survivor" else "target_id",
                value=party.code,
                fix="Merge into the party it was merged into, or undo that merge first.",
            )
        if party.archived_at is not None:
            raise RuleViolation(
                f"party {party.code} ({role}) was archived on {party.archived_at.date()}.",
                place="merge_into" if role == "survivor" else "target_id",
                value=party.code,
                fix="Merge active parties only.",
            )
    if survivor.country != merged.country and not across_countries:
        raise RuleViolation(
            f"party {merged.code} is in {merged.country} and {survivor.code} is in "
            f"{survivor.country}.",
            place="across_countries",
            value=f"{merged.country}/{survivor.country}",
            fix="Check that they are the same legal entity; if so, request the merge again "
            "with --across-countries.",
        )


@transaction.atomic
def party_merge_execute(
    *,
    survivor_id: int,
    merged_id: int,
    across_countries: bool,
    change_request_id: int | None,
    by: User | None,
    reason: str = "",
) -> PartyMerge:
    """Merge party ``merged_id`` into ``survivor_id`` and return the merge record.

    The caller has authorized the merge (its change request is approved). Both party rows
    are locked, lower id first, so that two merges of the same parties never interleave.
    """
    unruled = relations_unruled()
    if unruled:
        raise RuleViolation(
            f"no merge rule covers {', '.join(unruled)}, so no party is merged.",
            place="registry.merge_relations.RELATION_RULES",
            value=unruled,
            fix="Add a rule for each relation: re-point its rows or keep them, with the reason.",
        )
    locked = {
        p.pk: p
        for p in Party.objects.select_for_update()
        .filter(pk__in=(survivor_id, merged_id))
        .order_by("pk")
    }
    survivor, merged = (
        _locked(locked, survivor_id, "merge_into"),
        _locked(locked, merged_id, "target_id"),
    )
    merge_validate(survivor, merged, across_countries=across_countries)

    # Every row is chosen before any moves, so that no rule reads the result of another.
    relations = party_relations()
    chosen = {r.label: relation_rows(r, survivor, merged) for r in relations}
    kept = {r.label: len(ids) for r in relations if (ids := relation_kept(r, survivor, merged))}
    repointed = {label: ids for label, ids in chosen.items() if ids}
    demoted = bank_accounts_to_demote(survivor, repointed.get(BANK_ACCOUNTS, []))

    for relation in relations:
        moving = repointed.get(relation.label, [])
        if moving and relation.label not in CANDIDATE_FIELDS:
            rows = relation.model._default_manager.filter(pk__in=moving)
            rows.update(**{relation.field_name: survivor})
    _candidates_repoint(repointed, survivor, merged)
    _candidate_mark_merged(repointed, survivor, merged, by)
    if demoted:
        VendorBankAccount.objects.filter(pk__in=demoted).update(is_primary=False)
        repointed[PRIMARY_DEMOTED] = demoted

    now = timezone.now()
    merged.merged_into = survivor
    merged.archived_at = now
    merged.save(update_fields=["merged_into", "archived_at"])
    merge = PartyMerge.objects.create(
        survivor=survivor,
        merged=merged,
        change_request_id=change_request_id,
        repointed=repointed,
        merged_by=_actor(by),
    )
    counts = {label: len(ids) for label, ids in repointed.items()}
    summary = _invoice_summary(repointed)
    audit_record(
        actor=_actor(by),
        action="party.merge",
        record=merged,
        before={"merged_into": None, "archived_at": None},
        after={"merged_into": survivor.code, "archived_at": now, "merge": merge.pk},
        reason=reason,
    )
    audit_record(
        actor=_actor(by),
        action="party_merge.create",
        record=merge,
        before=None,
        after={
            "survivor": survivor.code,
            "merged": merged.code,
            "change_request": change_request_id,
            "repointed": counts,
            "kept": kept,
            **summary,
        },
        reason=reason,
    )
    logger.info(
        "party %s merged into %s (merge %s, change request %s): %s",
        merged.code,
        survivor.code,
        merge.pk,
        change_request_id,
        counts,
    )
    return merge


@transaction.atomic
def party_merge_undo(*, merge_id: int, by: User | None, reason: str) -> PartyMerge:
    """Put back exactly the rows that merge ``merge_id`` re-pointed, and make the merged party
    active again.

    Raises RuleViolation once an invoice was issued after the merge for a contract or bill-to
    entity it moved, because that invoice was issued to the survivor. A row moved elsewhere
    since the merge, or deleted, stays as it is and is named in the audit entry.
    """
    if by is not None:
        authorize(by, "change_approve")
    if not reason or not reason.strip():
        raise InvalidInput(
            "undoing a merge needs a reason.",
            place="reason",
            fix="Say why the two parties are not the same entity after all.",
        )
    merge = PartyMerge.objects.select_for_update().filter(pk=merge_id).first()
    if merge is None:
        raise NotFound(
            f"party merge {merge_id} was not found.",
            place="MERGE_ID",
            value=merge_id,
            fix="List the merges with: billguard parties merges list",
        )
    locked = {
        p.pk: p
        for p in Party.objects.select_for_update()
        .filter(pk__in=(merge.survivor_id, merge.merged_id))
        .order_by("pk")
    }
    survivor, merged = locked[merge.survivor_id], locked[merge.merged_id]
    _require_undoable(merge, survivor, merged)

    repointed = merge.repointed
    not_restored: dict[str, list[int]] = {}
    for relation in party_relations():
        ids = repointed.get(relation.label, [])
        if not ids or relation.label in CANDIDATE_FIELDS:
            continue
        rows = relation.model._default_manager.filter(pk__in=ids, **{relation.field_name: survivor})
        restored = set(rows.values_list("pk", flat=True))
        rows.update(**{relation.field_name: merged})
        missing = sorted(set(ids) - restored)
        if missing:
            not_restored[relation.label] = missing
    not_restored.update(_candidates_restore(repointed, survivor, merged))
    demoted = repointed.get(PRIMARY_DEMOTED, [])
    if demoted:
        VendorBankAccount.objects.filter(pk__in=demoted, party=merged).update(is_primary=True)
    _candidate_reopen(repointed)

    now = timezone.now()
    merged.merged_into = None
    merged.archived_at = None
    merged.save(update_fields=["merged_into", "archived_at"])
    merge.undone_by = _actor(by)
    merge.undone_at = now
    merge.save(update_fields=["undone_by", "undone_at"])
    audit_record(
        actor=_actor(by),
        action="party.unmerge",
        record=merged,
        before={"merged_into": survivor.code},
        after={"merged_into": None, "archived_at": None, "merge": merge.pk},
        reason=reason.strip(),
    )
    audit_record(
        actor=_actor(by),
        action="party_merge.undo",
        record=merge,
        before={"undone_at": None},
        after={
            "undone_at": now,
            "restored": {label: len(ids) for label, ids in repointed.items()},
            "not_restored": not_restored,
        },
        reason=reason.strip(),
    )
    logger.info(
        "merge %s of %s into %s undone by %s; not restored: %s",
        merge.pk,
        merged.code,
        survivor.code,
        _actor(by),
        not_restored,
    )
    return merge


def party_merges_list() -> list[dict[str, Any]]:
    """Return every merge, newest first, as plain values for the CLI and its JSON output."""
    merges = PartyMerge.objects.select_related("survivor", "merged").order_by("-merged_at", "-pk")
    return [
        {
            "id": merge.pk,
            "survivor": merge.survivor.code,
            "merged": merge.merged.code,
            "change_request": merge.change_request_id,
            "merged_by": merge.merged_by,
            "merged_at": merge.merged_at.isoformat(),
            "undone_by": merge.undone_by or None,
            "undone_at": merge.undone_at.isoformat() if merge.undone_at else None,
            "repointed": {label: len(ids) for label, ids in sorted(merge.repointed.items())},
        }
        for merge in merges
    ]


def issued_since_merge(merge: PartyMerge) -> list[str]:
    """Return the numbers of the invoices and credit notes issued after ``merge`` for a
    contract or bill-to entity that it re-pointed."""
    moved = models.Q(contract_id__in=merge.repointed.get(CONTRACTS, [])) | models.Q(
        bill_to_id__in=merge.repointed.get(BILL_TOS, [])
    )
    return sorted(
        str(number)
        for number in Invoice.objects.filter(
            moved, status=Invoice.Status.ISSUED, issued_at__gte=merge.merged_at
        ).values_list("number", flat=True)
    )


def _require_undoable(merge: PartyMerge, survivor: Party, merged: Party) -> None:
    if merge.undone_at is not None:
        raise RuleViolation(
            f"party merge {merge.pk} was already undone on {merge.undone_at.date()} by "
            f"{merge.undone_by or DEFAULT_ACTOR}.",
            place="MERGE_ID",
            value=merge.pk,
        )
    if survivor.merged_into_id is not None:
        raise RuleViolation(
            f"party {survivor.code}, the survivor of merge {merge.pk}, was merged since into "
            f"another party.",
            place="MERGE_ID",
            value=merge.pk,
            fix="Undo the later merge of the survivor first.",
        )
    if merged.merged_into_id != survivor.pk:
        raise RuleViolation(
            f"party {merged.code} no longer points at {survivor.code}, so merge {merge.pk} "
            "cannot be undone.",
            place="MERGE_ID",
            value=merge.pk,
        )
    issued = issued_since_merge(merge)
    if issued:
        shown = ", ".join(issued[:10])
        if len(issued) > 10:
            shown += f" and {len(issued) - 10} more"
        documents = f"invoice {shown} was" if len(issued) == 1 else f"invoices {shown} were"
        raise RuleViolation(
            f"merge {merge.pk} cannot be undone: {documents} issued since the merge to "
            f"{survivor.code} for a contract or bill-to entity that the merge moved from "
            f"{merged.code}.",
            place="MERGE_ID",
            value=merge.pk,
            fix="The merge stays, because documents went out under the moved records. Correct "
            "the survivor's records instead, and credit an invoice that was addressed wrongly.",
        )


def _candidates_repoint(repointed: dict[str, list[int]], survivor: Party, merged: Party) -> None:
    ids = sorted({pk for label in CANDIDATE_FIELDS for pk in repointed.get(label, [])})
    for candidate in DuplicateCandidate.objects.filter(pk__in=ids):
        other = candidate.other_party_id if candidate.party_id == merged.pk else candidate.party_id
        DuplicateCandidate.objects.filter(pk=candidate.pk).update(
            **candidate_pair(survivor.pk, other)
        )


def _candidates_restore(
    repointed: dict[str, list[int]], survivor: Party, merged: Party
) -> dict[str, list[int]]:
    not_restored: dict[str, list[int]] = {}
    for label in CANDIDATE_FIELDS:
        ids = repointed.get(label, [])
        found = set()
        for candidate in DuplicateCandidate.objects.filter(pk__in=ids):
            if survivor.pk not in (candidate.party_id, candidate.other_party_id):
                continue
            other = (
                candidate.other_party_id
                if candidate.party_id == survivor.pk
                else candidate.party_id
            )
            DuplicateCandidate.objects.filter(pk=candidate.pk).update(
                **candidate_pair(merged.pk, other)
            )
            found.add(candidate.pk)
        if set(ids) - found:
            not_restored[label] = sorted(set(ids) - found)
    return not_restored


def _candidate_mark_merged(
    repointed: dict[str, list[int]], survivor: Party, merged: Party, by: User | None
) -> None:
    candidate = DuplicateCandidate.objects.filter(**candidate_pair(survivor.pk, merged.pk)).first()
    if candidate is None:
        return
    DuplicateCandidate.objects.filter(pk=candidate.pk).update(
        status=DuplicateCandidate.Status.MERGED, decided_by=_actor(by), decided_at=timezone.now()
    )
    repointed[CANDIDATE_MERGED] = [candidate.pk]


def _candidate_reopen(repointed: dict[str, list[int]]) -> None:
    ids = repointed.get(CANDIDATE_MERGED, [])
    if ids:
        DuplicateCandidate.objects.filter(pk__in=ids).update(
            status=DuplicateCandidate.Status.OPEN, decided_by="", decided_at=None
        )


def _invoice_summary(repointed: dict[str, list[int]]) -> dict[str, int]:
    """Count the open drafts and issued documents of the moved contracts and bill-tos.

    Drafts reach the survivor through their contract and bill-to entity; issued invoices
    and credit notes are not changed.
    """
    moved = models.Q(contract_id__in=repointed.get(CONTRACTS, [])) | models.Q(
        bill_to_id__in=repointed.get(BILL_TOS, [])
    )
    invoices = Invoice.objects.filter(moved)
    return {
        "open_drafts": invoices.filter(status__in=OPEN_DRAFT_STATUSES).count(),
        "issued_unchanged": invoices.filter(status=Invoice.Status.ISSUED).count(),
    }


def _locked(parties: dict[int, Party], party_id: int, place: str) -> Party:
    party = parties.get(party_id)
    if party is None:
        raise NotFound(
            f"party {party_id} was not found.",
            place=place,
            value=party_id,
            fix="Give the code or id of an existing party.",
        )
    return party


def _actor(by: User | None) -> str:
    return by.get_username() if by is not None else DEFAULT_ACTOR
