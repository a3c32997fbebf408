"""Match tolerances: which MatchTolerance row applies to an order line, and setting them."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction

from billguard.controls.roles import authorize
from billguard.controls.services import DEFAULT_ACTOR, audit_record
from billguard.domain.errors import InvalidInput, RuleViolation
from billguard.procurement.context import Tolerance
from billguard.procurement.models import MatchTolerance, PurchaseOrderLine
from billguard.registry.models import Party

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


def tolerance_rows() -> list[MatchTolerance]:
    """Load every tolerance row, once for many order lines."""
    return list(MatchTolerance.objects.all())


def tolerance_for(
    line: PurchaseOrderLine, rows: Iterable[MatchTolerance] | None = None
) -> Tolerance:
    """Return the most specific tolerance for ``line``: vendor and category, then vendor, then
    category, then the default row (neither); zero tolerance when no row applies."""
    vendor_id = line.purchase_order.vendor_id
    category = line.category
    rows = tolerance_rows() if rows is None else rows
    by_scope = {(row.vendor_id, row.category): row for row in rows}
    scopes: list[tuple[tuple[int | None, str], str]] = []
    if category:
        scopes.append(((vendor_id, category), "vendor and category"))
    scopes.append(((vendor_id, ""), "vendor"))
    if category:
        scopes.append(((None, category), "category"))
    scopes.append(((None, ""), "default"))
    for key, label in scopes:
        row = by_scope.get(key)
        if row is not None:
            return Tolerance(
                quantity_percent=row.quantity_percent,
                unit_price_percent=row.unit_price_percent,
                amount=row.amount,
                source=f"{label} tolerance",
            )
    return Tolerance()


def match_tolerance_set(
    *,
    vendor: Party | None = None,
    category: str = "",
    quantity_percent: Decimal | None = None,
    unit_price_percent: Decimal | None = None,
    amount: Decimal | None = None,
    by: User | None = None,
) -> MatchTolerance:
    """Create or update the tolerance of one scope: a vendor, a category, both, or neither
    (the default for every order line that no narrower row covers).

    A value left as None keeps the row's current value, or is zero on a new row. At least
    one value must be given. ``amount`` is in the currency of the invoice it is applied to.
    """
    if by is not None:
        authorize(by, "match_tolerance_manage")
    category = (category or "").strip()
    if len(category) > 60:
        raise InvalidInput(
            "the category is longer than 60 characters.",
            place="category",
            value=category,
            fix="Use the spend category as written on the order lines.",
        )
    if vendor is not None and vendor.kind != Party.Kind.VENDOR:
        raise RuleViolation(
            f"party {vendor.code} is a {vendor.kind}, not a vendor.",
            place="vendor",
            value=vendor.code,
            fix="Set a tolerance for a party of kind vendor, or for a category.",
        )
    if quantity_percent is None and unit_price_percent is None and amount is None:
        raise InvalidInput(
            "no tolerance value given: quantity_percent, unit_price_percent and amount are "
            "all missing.",
            place="tolerance",
            value="",
            fix="Give at least one of --quantity-percent, --unit-price-percent or --amount; "
            "the values not given keep their current setting.",
        )
    if quantity_percent is not None:
        _require_percent(quantity_percent, field="quantity_percent")
    if unit_price_percent is not None:
        _require_percent(unit_price_percent, field="unit_price_percent")
    if amount is not None:
        _require_amount(amount)

    with transaction.atomic():
        row = (
            MatchTolerance.objects.select_for_update()
            .filter(vendor=vendor, category=category)
            .first()
        )
        before = _snapshot(row) if row is not None else None
        if row is None:
            row = MatchTolerance(vendor=vendor, category=category)
        if quantity_percent is not None:
            row.quantity_percent = quantity_percent
        if unit_price_percent is not None:
            row.unit_price_percent = unit_price_percent
        if amount is not None:
            row.amount = amount
        row.save()
        row.refresh_from_db()
        audit_record(
            actor=by.get_username() if by is not None else DEFAULT_ACTOR,
            action="match_tolerance.set",
            record=row,
            before=before,
            after=_snapshot(row),
        )
    logger.info(
        "match tolerance %s set for %s: quantity %s%%, unit price %s%%, amount %s",
        row.pk,
        scope_label(row),
        row.quantity_percent,
        row.unit_price_percent,
        row.amount,
    )
    return row


def _require_amount(amount: Decimal) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
        raise InvalidInput(
            f"the amount tolerance must be zero or more, not {amount}.",
            place="amount",
            value=amount,
            fix="Give the line amount difference allowed, such as 5.00.",
        )
    if amount != amount.quantize(Decimal("0.001")) or amount >= Decimal("1e15"):
        raise InvalidInput(
            f"the amount tolerance {amount} has more than 3 decimals or is too large.",
            place="amount",
            value=amount,
            fix="Round it to the currency's minor unit.",
        )


def match_tolerances_list() -> list[MatchTolerance]:
    """List every tolerance, the default first, then by vendor code and category."""
    rows = MatchTolerance.objects.select_related("vendor")
    return sorted(rows, key=lambda row: (row.vendor is not None, _vendor_code(row), row.category))


def scope_label(row: MatchTolerance) -> str:
    """Name the order lines a row covers: "vendor V-1, category hosting", "default"."""
    parts = []
    if row.vendor_id is not None:
        parts.append(f"vendor {_vendor_code(row)}")
    if row.category:
        parts.append(f"category {row.category}")
    return ", ".join(parts) or "default"


def _vendor_code(row: MatchTolerance) -> str:
    return row.vendor.code if row.vendor is not None else ""


def _require_percent(value: Decimal, *, field: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or not 0 <= value <= 100:
        raise InvalidInput(
            f"{field} must be a percentage from 0 to 100, not {value}.",
            place=field,
            value=value,
            fix="Give the percentage allowed, such as 2 or 0.5.",
        )
    if value != value.quantize(Decimal("0.0001")):
        raise InvalidInput(
            f"{field} {value} has more than 4 decimals.",
            place=field,
            value=value,
            fix="Round it to 4 decimals.",
        )


def _snapshot(row: MatchTolerance) -> dict[str, object]:
    return {
        "vendor": row.vendor_id,
        "category": row.category,
        "quantity_percent": str(row.quantity_percent),
        "unit_price_percent": str(row.unit_price_percent),
        "amount": str(row.amount),
    }
