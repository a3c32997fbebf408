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
