"""Reads of procurement records: vendor invoices by status, the payable ones, the held ones."""

from __future__ import annotations

from django.db.models import F, QuerySet

from billguard.procurement.models import ProcurementFinding, PurchaseOrder, VendorInvoice

# Matched invoices passed every check; approved ones were released by a finance approver.
PAYABLE_STATUSES = (VendorInvoice.Status.MATCHED, VendorInvoice.Status.APPROVED)


def vendor_invoices_list(*, status: str = "", vendor: str = "") -> QuerySet[VendorInvoice]:
    """Return vendor invoices, oldest first, optionally of one status and one vendor (party
    code)."""
    invoices = VendorInvoice.objects.select_related(
        "vendor", "seller_entity", "purchase_order"
    ).prefetch_related("findings")
    if status:
        invoices = invoices.filter(status=status)
    if vendor:
        invoices = invoices.filter(vendor__code=vendor)
    return invoices.order_by("issue_date", "pk")


def vendor_invoices_payable() -> QuerySet[VendorInvoice]:
    """Return the matched and approved vendor invoices by due date, those without one last."""
    return (
        VendorInvoice.objects.filter(status__in=PAYABLE_STATUSES)
        .select_related("vendor", "seller_entity", "purchase_order")
        .order_by(F("due_date").asc(nulls_last=True), "issue_date", "pk")
    )


def vendor_invoices_held() -> QuerySet[VendorInvoice]:
    """Return the held vendor invoices, oldest first, with their findings."""
    return (
        VendorInvoice.objects.filter(status=VendorInvoice.Status.HELD)
        .select_related("vendor", "purchase_order")
        .prefetch_related("findings")
        .order_by("created_at", "pk")
    )


def purchase_orders_held() -> QuerySet[PurchaseOrder]:
    """Return the held purchase orders, oldest first, with their findings."""
    return (
        PurchaseOrder.objects.filter(status=PurchaseOrder.Status.HELD)
        .select_related("vendor")
        .prefetch_related("lines", "findings")
        .order_by("ordered_on", "pk")
    )


def blocking_codes(findings: list[ProcurementFinding]) -> list[str]:
    """Return the codes of the findings that hold their record: blocking and not observed."""
    return sorted(
        {
            finding.code
            for finding in findings
            if finding.severity == ProcurementFinding.Severity.BLOCK and not finding.observed
        }
    )
