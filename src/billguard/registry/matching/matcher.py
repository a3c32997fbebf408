"""The duplicate matcher of the registry: the company model, and tax IDs that decide alone."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable

from billguard.registry.duplicates import DuplicatePair, PartyRecord
from billguard.registry.matching.frames import company_frame
from billguard.registry.matching.linkage import COMPANY_MODEL, DEFAULT_THRESHOLD, score
from billguard.registry.matching.normalise import normalise_tax_id
from billguard.registry.tax_ids import normalize_tax_id

logger = logging.getLogger(__name__)

# The field names that reasons use, by comparison.
_FIELD_NAMES = {
    "name": "name",
    "address": "address",
    "tax_id": "tax ID",
    "country": "country",
}


# The input and the result of the last match in this process.
_last_match: tuple[tuple[float, tuple[PartyRecord, ...]], tuple[DuplicatePair, ...]] | None = None


class ProbabilisticMatcher:
    """Two parties are likely duplicates when the company model gives their pair a match
    probability of at least ``threshold``, or when their normalised tax IDs are equal.

    The model's m and u probabilities are fixed (billguard/registry/matching/
    company_model.json), so the same parties give the same pairs on every run.
    """

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, threads: int | None = None) -> None:
        self.threshold = threshold
        # DuckDB's worker threads; None leaves DuckDB's default (one per core).
        self.threads = threads

    def find_pairs(self, records: Iterable[PartyRecord]) -> list[DuplicatePair]:
        records = tuple(records)
        # A process that matches the same parties again (a billing run, then the external
        # drafts checked after it; a web process checking one draft after another) gets the
        # pairs of its last match instead of scoring them again.
        global _last_match
        last = _last_match
        if last is not None and last[0] == (self.threshold, records):
            return list(last[1])
        pairs = self._match(list(records))
        _last_match = ((self.threshold, records), tuple(pairs))
        return pairs

    def _match(self, records: list[PartyRecord]) -> list[DuplicatePair]:
        pairs: dict[tuple[int, int], DuplicatePair] = {}
        for pair in _same_tax_id(records):
            pairs[(pair.party_id, pair.other_party_id)] = pair
        frame = company_frame(
            (r.party_id, r.name, r.street, r.city, r.postcode, r.tax_id, r.country) for r in records
        )
        for scored in score(
            [frame], model_file=COMPANY_MODEL, threshold=self.threshold, threads=self.threads
        ):
            key = (min(scored.left_id, scored.right_id), max(scored.left_id, scored.right_id))
            if key in pairs:
                continue
            pairs[key] = DuplicatePair(
                key[0], key[1], _reason(scored.probability, scored.weights), scored.probability
            )
        logger.info("matched %d parties: %d likely duplicate pairs", len(records), len(pairs))
        return [pairs[key] for key in sorted(pairs)]


def _same_tax_id(records: list[PartyRecord]) -> list[DuplicatePair]:
    """Pairs with the same tax ID after normalisation: one legal entity has one tax ID, so
    the pair is a duplicate whatever its names and addresses are."""
    groups: dict[tuple[str, str], list[PartyRecord]] = defaultdict(list)
    for record in records:
        country = record.country.strip().upper()
        tax_id = normalise_tax_id(record.tax_id, country)
        # A tax ID of one character is a placeholder ("0", "-"), not an identifier.
        if len(tax_id) > 1:
            groups[(country, tax_id)].append(record)
    pairs = []
    for members in groups.values():
        members.sort(key=lambda record: record.party_id)
        shown = normalize_tax_id(members[0].tax_id)
        for index, first in enumerate(members):
            for second in members[index + 1 :]:
                if first.party_id != second.party_id:
                    reason = f"same tax ID ({shown})"
                    pairs.append(DuplicatePair(first.party_id, second.party_id, reason, 1.0))
    return pairs


def _reason(probability: float, weights: tuple[tuple[str, float], ...]) -> str:
    """'match probability 0.981: name, street and postcode agree; city differs; tax ID
    missing'."""
    groups: dict[str, list[str]] = {"agree": [], "differ": [], "missing": []}
    for name, weight in weights:
        label = _FIELD_NAMES.get(name, name)
        if weight > 0:
            groups["agree"].append(label)
        elif weight < 0:
            groups["differ"].append(label)
        else:
            groups["missing"].append(label)
    parts = []
    for verb_plural, verb_single, key in (
        ("agree", "agrees", "agree"),
        ("differ", "differs", "differ"),
        ("missing", "missing", "missing"),
    ):
        fields = groups[key]
        if fields:
            if len(fields) == 1:
                listed, verb = fields[0], verb_single
            else:
                listed, verb = ", ".join(fields[:-1]) + " and " + fields[-1], verb_plural
            parts.append(f"{listed} {verb}")
    return f"match probability {probability:.3f}: " + "; ".join(parts)
