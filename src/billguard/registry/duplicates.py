"""Likely duplicate parties, behind an interface that a probabilistic matcher can implement."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from billguard.registry.tax_ids import normalize_tax_id

# Legal-form words that do not tell two companies apart ("Acme Ltd" is "ACME Limited").
_LEGAL_FORMS = frozenset(
    "inc incorporated llc ltd limited gmbh ag sa sarl sas bv nv plc co corp corporation "
    "company kg oy ab as spa srl".split()
)


@dataclass(frozen=True)
class PartyRecord:
    """The fields of a party that the matchers compare: its own name, postcode and tax ID,
    and the address of its first bill-to entity."""

    party_id: int
    name: str
    postcode: str
    tax_id: str
    street: str = ""
    city: str = ""
    country: str = ""


@dataclass(frozen=True)
class DuplicatePair:
    """Two likely duplicate parties, the lower id first, with the match probability (1.0 for
    a deterministic rule)."""

    party_id: int
    other_party_id: int
    reason: str
    probability: float = 1.0


class DuplicateMatcher(Protocol):
    def find_pairs(self, records: Iterable[PartyRecord]) -> list[DuplicatePair]: ...


def default_matcher() -> DuplicateMatcher:
    """Return the matcher that the checks and ``billguard parties duplicates scan`` use, the
    probabilistic one (billguard.registry.matching)."""
    from billguard.registry.matching.matcher import ProbabilisticMatcher

    return ProbabilisticMatcher()


class DeterministicMatcher:
    """Two parties match when their normalised tax IDs are equal, or their normalised
    names and postcodes are."""

    def find_pairs(self, records: Iterable[PartyRecord]) -> list[DuplicatePair]:
        groups: dict[tuple[str, str], list[PartyRecord]] = defaultdict(list)
        for record in records:
            if record.tax_id:
                groups[("tax ID", normalize_tax_id(record.tax_id))].append(record)
            name = normalize_name(record.name)
            if name:
                postcode = "".join(record.postcode.upper().split())
                groups[("name and postcode", f"{name}|{postcode}")].append(record)
        pairs: set[DuplicatePair] = set()
        for (reason, key), members in groups.items():
            ids = sorted({m.party_id for m in members})
            for index, first in enumerate(ids):
                for second in ids[index + 1 :]:
                    pairs.add(DuplicatePair(first, second, f"same {reason} ({key})"))
        return sorted(pairs, key=lambda p: (p.party_id, p.other_party_id, p.reason))


def normalize_name(name: str) -> str:
    """Lower-case ASCII words without punctuation and legal forms: 'ACME, Ltd.' -> 'acme'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_name.lower())
    return " ".join(word for word in words if word not in _LEGAL_FORMS)
