"""What the procurement checks read: a record and everything it is compared with, loaded once.

The checks are pure functions of these values; the loaders in ``purchase_orders`` and
``vendor_invoices`` fill them from the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from billguard.procurement.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    VendorInvoice,
    VendorInvoiceLine,
)


@dataclass(frozen=True)
class Tolerance:
    """How far an invoice line may differ from its order line (the MatchTolerance row that
    applies, or zero when none does)."""

    quantity_percent: Decimal = Decimal(0)
    unit_price_percent: Decimal = Decimal(0)
    amount: Decimal = Decimal(0)
    source: str = "no tolerance set"


@dataclass(frozen=True)
class OnboardingStatus:
    """Whether a vendor may receive orders and be paid, as of a date."""

    complete: bool
    missing: tuple[str, ...] = ()  # requirement labels still pending or rejected
    expired: tuple[tuple[str, dt.date], ...] = ()  # (document label, expiry date)


@dataclass
class PurchaseOrderContext:
    order: PurchaseOrder
    lines: list[PurchaseOrderLine]
    onboarding: OnboardingStatus
    # Other orders to the same vendor within the duplicate window, with their lines.
    nearby_orders: list[tuple[PurchaseOrder, list[PurchaseOrderLine]]] = field(default_factory=list)
    window_days: int = 90


@dataclass
class VendorInvoiceContext:
    invoice: VendorInvoice
    lines: list[VendorInvoiceLine]
    onboarding: OnboardingStatus
    # The order lines the invoice lines point to, by id.
    po_lines: dict[int, PurchaseOrderLine] = field(default_factory=dict)
    # Quantity received to date per order line id.
    received: dict[int, Decimal] = field(default_factory=dict)
    # Quantity billed per order line id by other vendor invoices that are not rejected.
    invoiced_before: dict[int, Decimal] = field(default_factory=dict)
    # The tolerance that applies to each order line id.
    tolerances: dict[int, Tolerance] = field(default_factory=dict)
    # Earlier invoices of the same vendor, any seller entity and fiscal year, that share the
    # normalised number, or the gross amount within the duplicate window.
    possible_duplicates: list[VendorInvoice] = field(default_factory=list)
    # IBANs of the vendor's approved bank details.
    approved_ibans: tuple[str, ...] = ()
    window_days: int = 90


def purchase_order_context(order: PurchaseOrder) -> PurchaseOrderContext:
    """Load what the purchase-order checks compare ``order`` with, in a few queries.

    ``nearby_orders`` are the other orders to the same vendor, placed by any seller entity,
    whose order date lies within the policy's ``procurement_duplicate_window_days`` of this
    one's, before or after it. Drafts are left out: of two orders typed twice, the one
    approved first goes through and the second is held.
    """
    # Imported here: the policy and onboarding modules import models that import this one.
    from billguard.controls.policy import policy_setting
    from billguard.procurement.onboarding import onboarding_status

    window_days = int(policy_setting("procurement_duplicate_window_days"))
    window = dt.timedelta(days=window_days)
    others = list(
        PurchaseOrder.objects.filter(
            vendor_id=order.vendor_id,
            ordered_on__gte=order.ordered_on - window,
            ordered_on__lte=order.ordered_on + window,
        )
        .exclude(pk=order.pk)
        .exclude(status=PurchaseOrder.Status.DRAFT)
        .select_related("seller_entity")
        .prefetch_related("lines")
        .order_by("ordered_on", "number")
    )
    return PurchaseOrderContext(
        order=order,
        lines=list(order.lines.order_by("line_number")),
        onboarding=onboarding_status(order.vendor, on=order.ordered_on),
        nearby_orders=[(other, list(other.lines.all())) for other in others],
        window_days=window_days,
    )
