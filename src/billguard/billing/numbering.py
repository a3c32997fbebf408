"""Gapless invoice numbers per seller entity."""

from __future__ import annotations

from django.db import transaction

from billguard.billing.models import NumberingSeries
from billguard.domain.errors import NotFound


def numbers_take(*, seller_entity_id: int, count: int) -> list[str]:
    """Take the next ``count`` numbers of the seller entity's series.

    The caller holds the transaction that issues the invoices: the series row stays locked
    (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers anyway) until it commits,
    so a rollback returns the numbers and the series never has a gap or a repeat.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("numbers_take must run inside the transaction that issues")
    series = NumberingSeries.objects.select_for_update().filter(seller_entity_id=seller_entity_id)
    locked = series.first()
    if locked is None:
        raise NotFound(
            f"seller entity {seller_entity_id} has no numbering series.",
            fix="Create the seller entity with seller_entity_create, which adds one.",
        )
    first = locked.next_number
    locked.next_number = first + count
    locked.save(update_fields=["next_number"])
    return [locked.format(number) for number in range(first, first + count)]
