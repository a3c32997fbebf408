"""Store likely duplicate parties as candidates, and dismiss the false ones."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from billguard.controls.roles import authorize
from billguard.controls.services import AuditItem, audit_record, audit_record_batch
from billguard.domain.errors import InvalidInput, NotFound, RuleViolation
from billguard.registry.duplicates import DuplicatePair
from billguard.registry.matching.linkage import DEFAULT_THRESHOLD
from billguard.registry.matching.matcher import ProbabilisticMatcher
from billguard.registry.matching.records import party_records
from billguard.registry.models import DuplicateCandidate, Party

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

REASON_LENGTH = DuplicateCandidate._meta.get_field("reason").max_length or 300


@dataclass(frozen=True)
class ScanResult:
    kinds: tuple[str, ...]
    parties: int
    found: int
    created: int
    refreshed: int
    # Open candidates that the scan did not find again (a party changed), now removed.
    removed: int
    # Pairs found again that someone had dismissed: they stay dismissed.
    still_dismissed: int


def duplicates_scan(
    *, kind: str | None = None, threshold: float = DEFAULT_THRESHOLD, by: User | None = None
) -> ScanResult:
    """Match the parties of ``kind`` (None: customers, then vendors) and store the likely
    duplicates as open candidates.

    A pair found again keeps its status and gets the new probability and reason; an open
    pair not found again is removed. Customers are compared with customers and vendors with
    vendors: a company that is both is not a duplicate.
    """
    if by is not None:
        authorize(by, "party_dedupe")
    kinds = _kinds(kind)
    if not 0 < threshold <= 1:
        raise InvalidInput(
            f"the threshold {threshold} is not a probability above 0.",
            place="--threshold",
            value=threshold,
            fix=f"Give a number above 0 and at most 1, such as {DEFAULT_THRESHOLD}.",
        )

    matcher = ProbabilisticMatcher(threshold=threshold)
    counts = {"parties": 0, "found": 0, "created": 0, "refreshed": 0, "removed": 0, "kept": 0}
    for party_kind in kinds:
        records = party_records(party_kind)
        pairs = matcher.find_pairs(records)
        counts["parties"] += len(records)
        counts["found"] += len(pairs)
        for key, value in _store(by, party_kind, pairs, threshold).items():
            counts[key] += value
    logger.info(
        "duplicate scan by %s of %s at threshold %s: %s",
        _actor(by) or "-",
        ",".join(kinds),
        threshold,
        counts,
    )
    return ScanResult(
        kinds=kinds,
        parties=counts["parties"],
        found=counts["found"],
        created=counts["created"],
        refreshed=counts["refreshed"],
        removed=counts["removed"],
        still_dismissed=counts["kept"],
    )


def duplicate_candidate_dismiss(
    *, candidate_id: int, reason: str, by: User | None = None
) -> DuplicateCandidate:
    """Mark an open candidate as two different entities; the duplicate check and later scans
    no longer report the pair."""
    if by is not None:
        authorize(by, "party_dedupe")
    reason = reason.strip()
    if not reason:
        raise InvalidInput(
            "a dismissal needs the reason why the two parties are different entities.",
            place="--reason",
            fix='Give --reason "TEXT", such as "two companies of one group".',
        )
    with transaction.atomic():
        candidate = DuplicateCandidate.objects.select_for_update().filter(pk=candidate_id).first()
        if candidate is None:
            raise NotFound(
                f"duplicate candidate {candidate_id} was not found.",
                place="ID",
                value=candidate_id,
                fix="List the candidates with: billguard parties duplicates list",
            )
        if candidate.status != DuplicateCandidate.Status.OPEN:
            raise RuleViolation(
                f"duplicate candidate {candidate_id} is {candidate.status}, not open.",
                place="ID",
                value=candidate_id,
                fix="Only an open candidate can be dismissed.",
            )
        before = {"status": candidate.status}
        candidate.status = DuplicateCandidate.Status.DISMISSED
        candidate.decided_by = _actor(by)
        candidate.decided_at = timezone.now()
        candidate.save(update_fields=["status", "decided_by", "decided_at"])
        audit_record(
            actor=_actor(by),
            action="duplicate_candidate.dismiss",
            record=candidate,
            before=before,
            after={"status": candidate.status},
            reason=reason,
        )
    return candidate


def _actor(by: User | None) -> str:
    return by.get_username() if by is not None else ""


def _kinds(kind: str | None) -> tuple[str, ...]:
    if kind is None:
        return (Party.Kind.CUSTOMER.value, Party.Kind.VENDOR.value)
    if kind not in Party.Kind.values:
        raise InvalidInput(
            f"{kind!r} is not a kind of party.",
            place="--kind",
            value=kind,
            fix="Give --kind customer or --kind vendor.",
        )
    return (kind,)


def _store(
    by: User | None, kind: str, pairs: list[DuplicatePair], threshold: float
) -> dict[str, int]:
    """Write the pairs of one kind in one transaction, with one audit entry per change."""
    found = {(pair.party_id, pair.other_party_id): pair for pair in pairs}
    counts = {"created": 0, "refreshed": 0, "removed": 0, "kept": 0}
    items: list[AuditItem] = []
    with transaction.atomic():
        existing = {
            (c.party_id, c.other_party_id): c
            for c in DuplicateCandidate.objects.select_for_update().filter(party__kind=kind)
        }
        changed = []
        for key, candidate in existing.items():
            pair = found.get(key)
            if pair is None:
                if candidate.status == DuplicateCandidate.Status.OPEN:
                    items.append(_item("duplicate_candidate.remove", candidate, threshold))
                    candidate.delete()
                    counts["removed"] += 1
                continue
            if candidate.status == DuplicateCandidate.Status.DISMISSED:
                counts["kept"] += 1
            else:
                counts["refreshed"] += 1
            candidate.match_probability = _probability(pair.probability)
            candidate.reason = pair.reason[:REASON_LENGTH]
            changed.append(candidate)
        DuplicateCandidate.objects.bulk_update(changed, ["match_probability", "reason"])

        new = [
            DuplicateCandidate(
                party_id=key[0],
                other_party_id=key[1],
                match_probability=_probability(pair.probability),
                reason=pair.reason[:REASON_LENGTH],
            )
            for key, pair in found.items()
            if key not in existing
        ]
        DuplicateCandidate.objects.bulk_create(new)
        created = DuplicateCandidate.objects.filter(
            party__kind=kind, status=DuplicateCandidate.Status.OPEN
        ).filter(pk__in=_created_ids(kind, {(c.party_id, c.other_party_id) for c in new}))
        items.extend(_item("duplicate_candidate.create", c, threshold) for c in created)
        counts["created"] = len(new)
        audit_record_batch(actor=_actor(by), items=items)
    return counts


def _created_ids(kind: str, keys: set[tuple[int, int]]) -> list[int]:
    """The ids of the candidates of ``keys``, which bulk_create does not return on SQLite."""
    if not keys:
        return []
    party_ids = {party for key in keys for party in key}
    rows = DuplicateCandidate.objects.filter(
        party__kind=kind, party_id__in=party_ids, other_party_id__in=party_ids
    ).values_list("pk", "party_id", "other_party_id")
    return [pk for pk, party, other in rows if (party, other) in keys]


def _item(action: str, candidate: DuplicateCandidate, threshold: float) -> AuditItem:
    return AuditItem(
        action=action,
        record_type=candidate._meta.label_lower,
        record_id=str(candidate.pk),
        before=None if action.endswith("create") else _snapshot(candidate),
        after=_snapshot(candidate) if action.endswith("create") else None,
        reason=f"duplicate scan at threshold {threshold}",
    )


def _snapshot(candidate: DuplicateCandidate) -> dict[str, object]:
    return {
        "party": candidate.party_id,
        "other_party": candidate.other_party_id,
        "match_probability": str(candidate.match_probability),
        "reason": candidate.reason,
        "status": candidate.status,
    }


def _probability(value: float) -> Decimal:
    # Six decimals, as the column stores them; a probability never rounds up past 1.
    return min(Decimal(str(round(value, 6))), Decimal(1))
