"""Purchase orders to vendors: create, approve (with the purchase-order checks), amend, close.

An order is created as a draft. Approving it runs every check of the purchase-order subject,
and a blocking finding puts it on hold. Once the cause is fixed (a missing onboarding item
done, a duplicate corrected), ``purchase_order_recheck`` runs the checks again. Amending a
line's price or quantity raises the order's revision and keeps the old value in a
PurchaseOrderLineChange.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Sum

from billguard.checks.engine import PURCHASE_ORDER, run_subject_checks
from billguard.checks.finding import Finding
from billguard.checks.modes import check_modes_load
from billguard.controls.roles import authorize
from billguard.controls.services import DEFAULT_ACTOR, audit_record
from billguard.domain.currencies import validate_currency
from billguard.domain.errors import InvalidInput, NotFound, RuleViolation
from billguard.procurement.context import purchase_order_context
from billguard.procurement.models import (
    ProcurementFinding,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderLineChange,
    Receipt,
)
from billguard.procurement.signals import purchase_order_line_repriced
from billguard.registry.models import GLAccount, Party, SellerEntity
from billguard.registry.validation import require_text

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

Status = PurchaseOrder.Status

# The largest values the quantity and price columns hold (18 and 20 digits, 4 and 6 decimals).
MAX_QUANTITY = Decimal("99999999999999.9999")
MAX_UNIT_PRICE = Decimal("99999999999999.999999")


@dataclass(frozen=True)
class OrderLineInput:
    """One line of a new purchase order, as a user or a file gives it."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    gl_account: str
    kind: str = PurchaseOrderLine.Kind.SERVICE
    category: str = ""
    unit_code: str = "C62"
    expected_on: dt.date | None = None


def purchase_order_create(
    *,
    number: str,
    vendor: Party,
    seller_entity: SellerEntity,
    currency: str,
    ordered_on: dt.date,
    lines: Sequence[OrderLineInput],
    by: User | None = None,
) -> PurchaseOrder:
    """Create a draft order with its lines; every value is checked before anything is written."""
    if by is not None:
        authorize(by, "purchase_order_manage")
    number = require_text(number, field="number")
    _require_vendor(vendor)
    currency = validate_currency((currency or "").strip().upper(), place="currency")
    if not lines:
        raise InvalidInput(
            f"order {number} has no lines.",
            place="lines",
            fix="Give at least one line with a description, quantity and unit price.",
        )
    accounts = _usable_accounts({line.gl_account.strip() for line in lines})
    for position, line in enumerate(lines, 1):
        _validate_line(line, position=position, ordered_on=ordered_on, accounts=accounts)

    with transaction.atomic():
        if PurchaseOrder.objects.filter(number=number).exists():
            raise RuleViolation(
                f"purchase order {number} already exists.",
                place="number",
                value=number,
                fix="Use a new order number, or amend the existing order.",
            )
        actor = _actor(by)
        order = PurchaseOrder.objects.create(
            number=number,
            vendor=vendor,
            seller_entity=seller_entity,
            currency=currency,
            ordered_on=ordered_on,
            status=Status.DRAFT,
            created_by=actor if by is not None else "",
        )
        PurchaseOrderLine.objects.bulk_create(
            PurchaseOrderLine(
                purchase_order=order,
                line_number=position,
                description=line.description.strip(),
                kind=line.kind,
                category=line.category.strip(),
                quantity=line.quantity,
                unit_code=line.unit_code.strip().upper(),
                unit_price=line.unit_price,
                gl_account=line.gl_account.strip(),
                expected_on=line.expected_on,
            )
            for position, line in enumerate(lines, 1)
        )
        audit_record(
            actor=actor,
            action="purchase_order.create",
            record=order,
            before=None,
            after=_snapshot(order),
        )
    logger.info(
        "purchase order %s (%s) created for vendor %s: %d lines",
        order.number,
        order.pk,
        vendor.code,
        len(lines),
    )
    return order


def purchase_order_approve(*, order: PurchaseOrder, by: User | None = None) -> list[Finding]:
    """Run the purchase-order checks on a draft order and approve it, or hold it.

    Every finding is stored with the order. A blocking one (not observed) sets the status to
    held, and its message names what to fix before ``purchase_order_recheck``.
    """
    if by is not None:
        authorize(by, "purchase_order_manage")
    with transaction.atomic():
        order = _locked(order)
        if order.status != Status.DRAFT:
            raise RuleViolation(
                f"purchase order {order.number} is {order.status}, not a draft.",
                place="number",
                value=order.number,
                fix="Only a draft is approved; a held order is checked again with recheck.",
            )
        return _check_and_decide(order, action="purchase_order.approve", by=by)


def purchase_order_recheck(*, order: PurchaseOrder, by: User | None = None) -> list[Finding]:
    """Run the checks again on a held order, after its cause was fixed; approve it if clean.

    The findings of the earlier check are replaced by those of this one.
    """
    if by is not None:
        authorize(by, "purchase_order_manage")
    with transaction.atomic():
        order = _locked(order)
        if order.status != Status.HELD:
            raise RuleViolation(
                f"purchase order {order.number} is {order.status}, not held.",
                place="number",
                value=order.number,
                fix="Only a held order is checked again; approve a draft with approve.",
            )
        return _check_and_decide(order, action="purchase_order.recheck", by=by)


def purchase_order_amend(
    *,
    order: PurchaseOrder,
    line_number: int,
    reason: str,
    unit_price: Decimal | None = None,
    quantity: Decimal | None = None,
    by: User | None = None,
) -> PurchaseOrder:
    """Change a line's unit price or quantity (or both) as one new revision of the order.

    A quantity below what was already received is refused. A new unit price is announced with
    ``purchase_order_line_repriced``, so that pass-through prices based on it are followed up.
    """
    if by is not None:
        authorize(by, "purchase_order_manage")
    reason = require_text(reason, field="reason")
    if unit_price is None and quantity is None:
        raise InvalidInput(
            "the amendment changes nothing.",
            place="unit_price",
            fix="Give a new unit price, a new quantity, or both.",
        )
    if unit_price is not None:
        _require_amount(unit_price, field="unit_price", limit=MAX_UNIT_PRICE)
    if quantity is not None:
        _require_amount(quantity, field="quantity", limit=MAX_QUANTITY)

    with transaction.atomic():
        order = _locked(order)
        if order.status == Status.CLOSED:
            raise RuleViolation(
                f"purchase order {order.number} is closed.",
                place="number",
                value=order.number,
                fix="A closed order is not amended; place a new order.",
            )
        line = _line(order, line_number)
        changes = []
        if unit_price is not None and unit_price != line.unit_price:
            changes.append(("unit_price", line.unit_price, unit_price))
        if quantity is not None and quantity != line.quantity:
            received = received_quantity(line)
            if quantity < received:
                raise RuleViolation(
                    f"line {line_number} of {order.number} has {plain(received)} received "
                    f"already, so the quantity cannot drop to {plain(quantity)}.",
                    place="quantity",
                    value=quantity,
                    fix=f"Give a quantity of at least {plain(received)}.",
                )
            changes.append(("quantity", line.quantity, quantity))
        if not changes:
            raise RuleViolation(
                f"line {line_number} of {order.number} already has these values.",
                place="line",
                value=line_number,
                fix="Give a unit price or quantity that differs from the current one.",
            )

        actor = _actor(by)
        before = _snapshot(order)
        order.revision += 1
        for name, _, new in changes:
            setattr(line, name, new)
        line.save(update_fields=[name for name, _, _ in changes])
        PurchaseOrderLineChange.objects.bulk_create(
            PurchaseOrderLineChange(
                line=line,
                revision=order.revision,
                field=name,
                old_value=old,
                new_value=new,
                reason=reason,
                changed_by=actor,
            )
            for name, old, new in changes
        )
        order.status = _status_after_receipt_change(order)
        order.save(update_fields=["revision", "status"])
        audit_record(
            actor=actor,
            action="purchase_order.amend",
            record=order,
            before=before,
            after={
                "revision": order.revision,
                "status": order.status,
                "line": line_number,
                **{name: str(new) for name, _, new in changes},
            },
            reason=reason,
        )
        for name, old, new in changes:
            if name == "unit_price":
                purchase_order_line_repriced.send(
                    sender=PurchaseOrderLine,
                    line=line,
                    old_price=old,
                    new_price=new,
                    reference=f"{order.number} rev {order.revision}",
                    by=by,
                )
    logger.info(
        "purchase order %s line %d amended to revision %d: %s",
        order.number,
        line_number,
        order.revision,
        ", ".join(name for name, _, _ in changes),
    )
    return order


def purchase_order_close(*, order: PurchaseOrder, by: User | None = None) -> PurchaseOrder:
    """Close an order: it takes no more receipts or amendments."""
    if by is not None:
        authorize(by, "purchase_order_manage")
    with transaction.atomic():
        order = _locked(order)
        if order.status == Status.CLOSED:
            raise RuleViolation(
                f"purchase order {order.number} is closed already.",
                place="number",
                value=order.number,
            )
        before = _snapshot(order)
        order.status = Status.CLOSED
        order.save(update_fields=["status"])
        audit_record(
            actor=_actor(by),
            action="purchase_order.close",
            record=order,
            before=before,
            after=_snapshot(order),
        )
    logger.info("purchase order %s closed", order.number)
    return order


def purchase_order_by_number(number: str) -> PurchaseOrder:
    order = PurchaseOrder.objects.select_related("vendor", "seller_entity").filter(
        number=(number or "").strip()
    )
    found = order.first()
    if found is None:
        raise NotFound(
            f"purchase order {number!r} does not exist.",
            place="number",
            value=number,
            fix="List the orders with `billguard purchase-orders list`.",
        )
    return found


def received_quantity(line: PurchaseOrderLine) -> Decimal:
    """Sum the quantity received to date on ``line``."""
    total = Receipt.objects.filter(line=line).aggregate(total=Sum("quantity"))["total"]
    return Decimal(total or 0)


def order_fully_received(order: PurchaseOrder) -> bool:
    """Return True when every line of ``order`` has received at least its ordered quantity."""
    lines = list(order.lines.annotate(received=Sum("receipts__quantity")))
    return bool(lines) and all(Decimal(line.received or 0) >= line.quantity for line in lines)


# Helpers ----------------------------------------------------------------------------------


def plain(value: Decimal) -> str:
    """Format a quantity without trailing zeros: 10, 2.5."""
    return f"{Decimal(value).normalize():f}"


def _check_and_decide(order: PurchaseOrder, *, action: str, by: User | None) -> list[Finding]:
    """Run the checks, replace the stored findings and set approved or held."""
    context = purchase_order_context(order)
    findings = run_subject_checks(PURCHASE_ORDER, order, context, modes=check_modes_load())

    before = _snapshot(order)
    ProcurementFinding.objects.filter(purchase_order=order).delete()
    ProcurementFinding.objects.bulk_create(
        ProcurementFinding(
            purchase_order=order,
            code=finding.code,
            severity=finding.severity.value,
            subject=finding.subject[:200],
            message=finding.message[:500],
            expected=finding.expected[:200],
            actual=finding.actual[:200],
            amount_at_stake=finding.amount_at_stake.amount if finding.amount_at_stake else None,
            currency=finding.amount_at_stake.currency if finding.amount_at_stake else "",
            evidence=dict(finding.evidence),
            observed=finding.observed,
        )
        for finding in findings
    )

    blocking = [finding.code for finding in findings if finding.blocks]
    order.status = Status.HELD if blocking else Status.APPROVED
    order.save(update_fields=["status"])
    audit_record(
        actor=_actor(by),
        action=action,
        record=order,
        before=before,
        after={**_snapshot(order), "findings": [finding.code for finding in findings]},
    )
    logger.info(
        "purchase order %s (%s) %s: %d findings, blocking %s",
        order.number,
        order.pk,
        order.status,
        len(findings),
        ", ".join(blocking) or "none",
    )
    return findings


def _status_after_receipt_change(order: PurchaseOrder) -> str:
    """Compute the status after lines or receipts changed: received when every line is.

    Draft, held and closed orders keep their status. A received order whose quantity was
    raised goes back to approved, because more is expected.
    """
    if order.status not in (Status.APPROVED, Status.SENT, Status.RECEIVED):
        return str(order.status)
    if order_fully_received(order):
        return Status.RECEIVED
    if order.status == Status.RECEIVED:
        return Status.APPROVED
    return str(order.status)


def _locked(order: PurchaseOrder) -> PurchaseOrder:
    """Read ``order`` again under a row lock, so that two writers of one order go in turn."""
    return PurchaseOrder.objects.select_for_update().select_related("vendor").get(pk=order.pk)


def _line(order: PurchaseOrder, line_number: int) -> PurchaseOrderLine:
    line = (
        PurchaseOrderLine.objects.select_for_update()
        .filter(purchase_order=order, line_number=line_number)
        .first()
    )
    if line is None:
        count = order.lines.count()
        raise NotFound(
            f"purchase order {order.number} has no line {line_number}.",
            place="line",
            value=line_number,
            fix=f"Give a line number from 1 to {count}.",
        )
    line.purchase_order = order
    return line


def _require_vendor(vendor: Party) -> None:
    if vendor.kind != Party.Kind.VENDOR:
        raise RuleViolation(
            f"party {vendor.code} is a {vendor.kind}, not a vendor.",
            place="vendor",
            value=vendor.code,
            fix="Order from a party of kind vendor.",
        )
    if vendor.merged_into_id is not None or vendor.archived_at is not None:
        raise RuleViolation(
            f"vendor {vendor.code} was merged into another party or archived.",
            place="vendor",
            value=vendor.code,
            fix="Order from the vendor it was merged into, or from an active vendor.",
        )


def _usable_accounts(codes: set[str]) -> set[str]:
    return set(
        GLAccount.objects.filter(code__in=codes, is_closed=False).values_list("code", flat=True)
    )


def _validate_line(
    line: OrderLineInput, *, position: int, ordered_on: dt.date, accounts: set[str]
) -> None:
    place = f"line {position}"
    require_text(line.description, field=f"{place} description")
    _require_amount(line.quantity, field=f"{place} quantity", limit=MAX_QUANTITY)
    _require_amount(line.unit_price, field=f"{place} unit_price", limit=MAX_UNIT_PRICE)
    if line.kind not in PurchaseOrderLine.Kind.values:
        raise InvalidInput(
            f"line kind {line.kind!r} is unknown.",
            place=f"{place} kind",
            value=line.kind,
            fix="Use goods, service or milestone.",
        )
    code = line.gl_account.strip()
    if code not in accounts:
        raise InvalidInput(
            f"GL account {code!r} is not an open account of the chart of accounts.",
            place=f"{place} gl_account",
            value=code,
            fix="Use an account code that exists and is not closed.",
        )
    if line.expected_on is not None and line.expected_on < ordered_on:
        raise InvalidInput(
            f"expected date {line.expected_on} is before the order date {ordered_on}.",
            place=f"{place} expected_on",
            value=line.expected_on,
            fix="Give the promised delivery or milestone date, on or after the order date.",
        )
    if len(line.unit_code.strip()) not in (1, 2, 3):
        raise InvalidInput(
            f"unit code {line.unit_code!r} is not a UN/ECE Recommendation 20 code.",
            place=f"{place} unit_code",
            value=line.unit_code,
            fix="Use a code such as C62 (one), HUR (hour) or DAY.",
        )


def _require_amount(value: Decimal, *, field: str, limit: Decimal) -> None:
    """Check for a positive number that fits its column without rounding: as many decimals
    as ``limit`` has (4 for a quantity, 6 for a unit price)."""
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise InvalidInput(
            f"{field} must be a number more than zero, not {value}.",
            place=field,
            value=value,
            fix="Give a positive number such as 10 or 120.50.",
        )
    if value > limit:
        raise InvalidInput(
            f"{field} {value} is too large.",
            place=field,
            value=value,
            fix=f"Keep it up to {limit}.",
        )
    places = -int(limit.as_tuple().exponent)
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise InvalidInput(
            f"{field} {value} has more than {places} decimals.",
            place=field,
            value=value,
            fix=f"Round it to {places} decimals.",
        )


def _snapshot(order: PurchaseOrder) -> dict[str, object]:
    return {
        "number": order.number,
        "vendor": order.vendor_id,
        "seller_entity": order.seller_entity_id,
        "currency": order.currency,
        "ordered_on": order.ordered_on.isoformat(),
        "status": order.status,
        "revision": order.revision,
    }


def _actor(by: User | None) -> str:
    return by.get_username() if by is not None else DEFAULT_ACTOR
