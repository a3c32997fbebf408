"""Match tolerances: which MatchTolerance row applies to an order line."""

from __future__ import annotations

from collections.abc import Iterable

from billguard.procurement.context import Tolerance
from billguard.procurement.models import MatchTolerance, PurchaseOrderLine


def tolerance_rows() -> list[MatchTolerance]:
    """Every tolerance row, loaded once for many order lines."""
    return list(MatchTolerance.objects.all())


def tolerance_for(
    line: PurchaseOrderLine, rows: Iterable[MatchTolerance] | None = None
) -> Tolerance:
    """Return the most specific tolerance for ``line``: vendor and category, then vendor, then
    category, then the default row (neither); zero tolerance when no row applies."""
    vendor_id = line.purchase_order.vendor_id
    category = line.category
    by_scope = {(row.vendor_id, row.category): row for row in (rows or tolerance_rows())}
    for key, label in (
        ((vendor_id, category), "vendor and category"),
        ((vendor_id, ""), "vendor"),
        ((None, category), "category"),
        ((None, ""), "default"),
    ):
        if key[1] == "" and label in ("vendor and category", "category"):
            continue
        row = by_scope.get(key)
        if row is not None:
            return Tolerance(
                quantity_percent=row.quantity_percent,
                unit_price_percent=row.unit_price_percent,
                amount=row.amount,
                source=f"{label} tolerance",
            )
    return Tolerance()
