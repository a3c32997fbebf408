"""The three-way match: each vendor invoice line against its order line and the receipts.

Each invoice line is compared with the order line it names. Its quantity, added to what
earlier invoices (not rejected) billed on that order line, is compared with the quantity
received. Its unit price is compared with the order line's. The tolerance that applies to
the order line (see ``billguard.procurement.tolerances``) allows a small difference before a
check fires.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from billguard.checks.engine import VENDOR_INVOICE, check
from billguard.checks.finding import Observation, Severity
from billguard.domain.money import Money, money_text
from billguard.procurement.context import Tolerance, VendorInvoiceContext
from billguard.procurement.models import PurchaseOrderLine, VendorInvoice, VendorInvoiceLine

HUNDRED = Decimal(100)

FAMILY = "procurement"
BLOCK = Severity.BLOCK


@check("MATCH_QUANTITY_EXCEEDS_RECEIPT", family=FAMILY, severity=BLOCK, subject=VENDOR_INVOICE)
def quantity_exceeds_receipt(
    invoice: VendorInvoice, context: VendorInvoiceContext
) -> Iterator[Observation]:
    """Report a line when the quantity billed on its order line, this invoice included,
    exceeds the quantity received by more than the tolerance's quantity percent, and a line
    of an invoice against an order that names no order line."""
    # A line of an invoice against an order that names none of its lines bills something
    # that nothing received on the order covers (a freight charge, an extra), so it is
    # reported until someone approves it.
    if invoice.purchase_order_id is not None:
        for line in context.lines:
            if line.po_line_id is None:
                yield Observation(
                    subject=f"line {line.line_number}",
                    message=(
                        f"line {line.line_number} ({line.description or 'no description'}) "
                        f"names no line of the order, so no receipt covers its "
                        f"{_q(line.quantity)} units."
                    ),
                    expected="a line of the purchase order, received",
                    actual="no order line",
                    amount_at_stake=Money(line.net_amount, invoice.currency).rounded(),
                    evidence={"order_line": ""},
                )
    # Lines of this invoice billed so far per order line, so that two lines of one invoice
    # on the same order line count together.
    billed_here: dict[int, Decimal] = {}
    for line, po_line in _matched_lines(context):
        tolerance = context.tolerances.get(po_line.pk, Tolerance())
        received = context.received.get(po_line.pk, Decimal(0))
        earlier = context.invoiced_before.get(po_line.pk, Decimal(0)) + billed_here.get(
            po_line.pk, Decimal(0)
        )
        billed_here[po_line.pk] = billed_here.get(po_line.pk, Decimal(0)) + line.quantity
        billed = earlier + line.quantity
        allowed = received + received * tolerance.quantity_percent / HUNDRED
        if billed <= allowed:
            continue
        # Only this line's own share of the excess is at stake here: what earlier invoices
        # billed beyond the receipts was at stake on them.
        excess = min(line.quantity, billed - received)
        yield Observation(
            subject=f"line {line.line_number}",
            message=(
                f"line {line.line_number} bills {_q(line.quantity)} on order line "
                f"{_order_line(po_line)}; with {_q(earlier)} billed before, that is "
                f"{_q(billed)} against {_q(received)} received."
            ),
            expected=f"at most {_q(allowed)} billed ({tolerance.source})",
            actual=f"{_q(billed)} billed",
            amount_at_stake=Money(excess * line.unit_price, invoice.currency).rounded(),
            evidence=_evidence(po_line, tolerance)
            | {
                "received": _q(received),
                "invoiced_before": _q(earlier),
                "quantity_percent": _q(tolerance.quantity_percent),
            },
        )


@check("MATCH_PRICE_VARIANCE", family=FAMILY, severity=BLOCK, subject=VENDOR_INVOICE)
def price_variance(invoice: VendorInvoice, context: VendorInvoiceContext) -> Iterator[Observation]:
    """Report a line whose unit price differs from the order line's by more than the
    tolerance's unit price percent, and whose amount differs by more than its amount.

    Both limits must be passed, so that a small percentage on a large line and a large
    percentage on a cheap line are both tolerated. A lower price fires too: it usually means
    the wrong order line or a missing charge that follows.
    """
    for line, po_line in _matched_lines(context):
        tolerance = context.tolerances.get(po_line.pk, Tolerance())
        order_currency = po_line.purchase_order.currency
        if order_currency != invoice.currency:
            yield Observation(
                subject=f"line {line.line_number}",
                message=(
                    f"line {line.line_number} is billed in {invoice.currency}, order line "
                    f"{_order_line(po_line)} is priced in {order_currency}."
                ),
                expected=f"{_p(po_line.unit_price)} {order_currency}",
                actual=f"{_p(line.unit_price)} {invoice.currency}",
                amount_at_stake=Money(line.net_amount, invoice.currency).rounded(),
                evidence=_evidence(po_line, tolerance),
            )
            continue
        difference = line.unit_price - po_line.unit_price
        allowed_price = po_line.unit_price * tolerance.unit_price_percent / HUNDRED
        amount_difference = abs(difference * line.quantity)
        if abs(difference) <= allowed_price or amount_difference <= tolerance.amount:
            continue
        yield Observation(
            subject=f"line {line.line_number}",
            message=(
                f"line {line.line_number} bills {_p(line.unit_price)} a unit, order line "
                f"{_order_line(po_line)} agreed {_p(po_line.unit_price)}: "
                f"{money_text(amount_difference, invoice.currency)} on "
                f"{_q(line.quantity)} units."
            ),
            expected=f"{_p(po_line.unit_price)} {invoice.currency} ({tolerance.source})",
            actual=f"{_p(line.unit_price)} {invoice.currency}",
            amount_at_stake=Money(amount_difference, invoice.currency).rounded(),
            evidence=_evidence(po_line, tolerance)
            | {
                "unit_price_percent": _q(tolerance.unit_price_percent),
                "amount_tolerance": _q(tolerance.amount),
            },
        )


def _matched_lines(
    context: VendorInvoiceContext,
) -> Iterator[tuple[VendorInvoiceLine, PurchaseOrderLine]]:
    """Yield each invoice line that names a known order line, with that order line."""
    for line in sorted(context.lines, key=lambda item: item.line_number):
        if line.po_line_id is None:
            continue
        po_line = context.po_lines.get(line.po_line_id)
        if po_line is not None:
            yield line, po_line


def _order_line(po_line: PurchaseOrderLine) -> str:
    return f"{po_line.purchase_order.number}/{po_line.line_number}"


def _evidence(po_line: PurchaseOrderLine, tolerance: Tolerance) -> dict[str, str]:
    order = po_line.purchase_order
    return {
        "purchase_order": order.number,
        "purchase_order_revision": str(order.revision),
        "order_line": str(po_line.line_number),
        "tolerance": tolerance.source,
    }


def _q(value: Decimal) -> str:
    """Format a quantity or percentage without trailing zeros: 10, 2.5."""
    return f"{Decimal(value).normalize():f}"


def _p(value: Decimal) -> str:
    """Format a unit price with at least two decimals: 120.00, 0.0125."""
    normal = Decimal(value).normalize()
    exponent = normal.as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{normal:.{places}f}"
