"""The party records that the matchers compare, read from the registry in a few queries."""

from __future__ import annotations

from billguard.registry.duplicates import PartyRecord
from billguard.registry.models import BillToEntity, DuplicateCandidate, Party

# Rows fetched per round trip when all parties of a kind are read.
BATCH = 5000


def party_records(kind: str) -> list[PartyRecord]:
    """Read one record per party of ``kind`` that is not merged into another.

    A record has the party's name, postcode, tax ID and country, and the street and city of
    its first active bill-to entity. That entity's postcode and tax ID are used where the
    party has none.
    """
    addresses: dict[int, tuple[str, str, str, str]] = {}
    bill_tos = (
        BillToEntity.objects.filter(
            party__kind=kind, party__merged_into__isnull=True, archived_at__isnull=True
        )
        .order_by("party_id", "pk")
        .values_list("party_id", "street", "city", "postcode", "tax_id")
    )
    for party_id, street, city, postcode, tax_id in bill_tos.iterator(chunk_size=BATCH):
        addresses.setdefault(party_id, (street, city, postcode, tax_id))
    parties = Party.objects.filter(kind=kind, merged_into__isnull=True).values_list(
        "pk", "name", "postcode", "tax_id", "country"
    )
    records = []
    for pk, name, postcode, tax_id, country in parties.iterator(chunk_size=BATCH):
        street, city, bill_to_postcode, bill_to_tax_id = addresses.get(pk, ("", "", "", ""))
        records.append(
            PartyRecord(
                pk,
                name,
                postcode or bill_to_postcode,
                tax_id or bill_to_tax_id,
                street=street,
                city=city,
                country=country,
            )
        )
    return records


def dismissed_pairs() -> set[tuple[int, int]]:
    """Return the pairs (lower party id first) dismissed as two different entities."""
    return set(
        DuplicateCandidate.objects.filter(status=DuplicateCandidate.Status.DISMISSED).values_list(
            "party_id", "other_party_id"
        )
    )
