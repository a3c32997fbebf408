"""The inputs of the procurement checks: a record and everything it is compared with.

The checks are pure functions of these values. The loaders at the end of this module,
``purchase_order_context`` and ``vendor_invoice_context``, fill them from the database.
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


def vendor_invoice_context(invoice: VendorInvoice) -> VendorInvoiceContext:
    """Load what the vendor-invoice checks compare ``invoice`` with, in a few queries.

    ``invoiced_before`` counts the invoices recorded before this one that are not rejected,
    so that checking an earlier invoice again does not count a later one. The
    ``possible_duplicates`` are earlier invoices that are not rejected, of the same vendor
    (or of a party merged into it), any seller entity and fiscal year, with the same
    normalised number, or with the same gross amount and currency and an issue date within
    the policy's ``procurement_duplicate_window_days``.
    """
    # Imported here: the policy and onboarding modules import models that import this one.
    from django.db.models import Q, Sum

    from billguard.controls.policy import policy_setting
    from billguard.procurement.models import MatchTolerance, Receipt
    from billguard.procurement.onboarding import onboarding_status
    from billguard.procurement.tolerances import tolerance_for
    from billguard.procurement.vendor_invoice_validation import compact_account
    from billguard.registry.models import Party, VendorBankAccount

    lines = list(invoice.lines.order_by("line_number"))
    line_ids = {line.po_line_id for line in lines if line.po_line_id is not None}
    po_lines = {
        po_line.pk: po_line
        for po_line in PurchaseOrderLine.objects.filter(pk__in=line_ids).select_related(
            "purchase_order"
        )
    }
    received = {
        row["line_id"]: row["total"]
        for row in Receipt.objects.filter(line_id__in=line_ids)
        .values("line_id")
        .annotate(total=Sum("quantity"))
    }
    invoiced_before = {
        row["po_line_id"]: row["total"]
        for row in VendorInvoiceLine.objects.filter(
            po_line_id__in=line_ids, invoice__pk__lt=invoice.pk
        )
        .exclude(invoice__status=VendorInvoice.Status.REJECTED)
        .values("po_line_id")
        .annotate(total=Sum("quantity"))
    }
    tolerance_rows = list(MatchTolerance.objects.all())
    tolerances = {pk: tolerance_for(po_line, tolerance_rows) for pk, po_line in po_lines.items()}

    window_days = int(policy_setting("procurement_duplicate_window_days"))
    window = dt.timedelta(days=window_days)
    vendor_ids = {invoice.vendor_id} | set(
        Party.objects.filter(merged_into_id=invoice.vendor_id).values_list("pk", flat=True)
    )
    same_number = Q(normalized_number=invoice.normalized_number)
    same_amount = Q(
        gross_amount=invoice.gross_amount,
        currency=invoice.currency,
        issue_date__gte=invoice.issue_date - window,
        issue_date__lte=invoice.issue_date + window,
    )
    possible_duplicates = list(
        VendorInvoice.objects.filter(same_number | same_amount, vendor_id__in=vendor_ids)
        .filter(pk__lt=invoice.pk)
        .exclude(status=VendorInvoice.Status.REJECTED)
        .select_related("seller_entity", "vendor")
        .order_by("pk")
    )
    approved_ibans = tuple(
        compact_account(iban)
        for iban in VendorBankAccount.objects.filter(party_id=invoice.vendor_id)
        .order_by("pk")
        .values_list("iban", flat=True)
    )
    return VendorInvoiceContext(
        invoice=invoice,
        lines=lines,
        onboarding=onboarding_status(invoice.vendor, on=invoice.issue_date),
        po_lines=po_lines,
        received=received,
        invoiced_before=invoiced_before,
        tolerances=tolerances,
        possible_duplicates=possible_duplicates,
        approved_ibans=approved_ibans,
        window_days=window_days,
    )
