"""Checks of the vendor behind a purchase order or a vendor invoice: onboarding and documents.

Both read ``context.onboarding``, the vendor's OnboardingStatus on the order date or the
invoice's issue date, which the context loaders fill with ``onboarding_status``.
"""

from __future__ import annotations

from collections.abc import Iterator

from billguard.checks.engine import PURCHASE_ORDER, VENDOR_INVOICE, check
from billguard.checks.finding import Observation, Severity
from billguard.procurement.context import PurchaseOrderContext, VendorInvoiceContext
from billguard.procurement.models import PurchaseOrder, VendorInvoice

FAMILY = "procurement"
SUBJECTS = (PURCHASE_ORDER, VENDOR_INVOICE)


@check("VENDOR_NOT_ONBOARDED", family=FAMILY, severity=Severity.BLOCK, subject=SUBJECTS)
def vendor_not_onboarded(
    record: PurchaseOrder | VendorInvoice, context: PurchaseOrderContext | VendorInvoiceContext
) -> Iterator[Observation]:
    """Report the required onboarding checklist items still pending or rejected."""
    missing = context.onboarding.missing
    if not missing:
        return
    vendor, _, day = _vendor_and_date(record)
    yield Observation(
        subject="vendor",
        message=f"vendor {vendor} has not completed onboarding: {', '.join(missing)} missing.",
        expected="every required onboarding checklist item done",
        actual=f"missing: {', '.join(missing)}",
        evidence={"vendor": vendor, "checked_on": day, "missing": ", ".join(missing)},
    )


@check("VENDOR_DOCUMENT_EXPIRED", family=FAMILY, severity=Severity.BLOCK, subject=SUBJECTS)
def vendor_document_expired(
    record: PurchaseOrder | VendorInvoice, context: PurchaseOrderContext | VendorInvoiceContext
) -> Iterator[Observation]:
    """Report each required document that expired before the order or invoice date."""
    vendor, date_name, day = _vendor_and_date(record)
    for label, expired_on in context.onboarding.expired:
        yield Observation(
            subject="vendor",
            message=f"the {label} of vendor {vendor} expired on {expired_on}, before the "
            f"{date_name} {day}.",
            expected=f"a {label} valid on {day}",
            actual=f"expired on {expired_on}",
            evidence={"vendor": vendor, "document": label, "expired_on": expired_on.isoformat()},
        )


def _vendor_and_date(record: PurchaseOrder | VendorInvoice) -> tuple[str, str, str]:
    """Return the vendor code, the name of the date the status was taken on, and that date."""
    if isinstance(record, PurchaseOrder):
        return record.vendor.code, "order date", record.ordered_on.isoformat()
    return record.vendor.code, "invoice date", record.issue_date.isoformat()
