"""Checks of a vendor invoice on its own: was it recorded before, and is the payee ours to pay?

Both put the whole gross amount at stake, because paying a duplicate or paying the wrong
account loses all of it.
"""

from __future__ import annotations

from collections.abc import Iterator

from billguard.checks.engine import VENDOR_INVOICE, check
from billguard.checks.finding import Observation, Severity
from billguard.domain.money import Money
from billguard.procurement.context import VendorInvoiceContext
from billguard.procurement.models import VendorInvoice
from billguard.procurement.vendor_invoice_validation import compact_account

FAMILY = "procurement"


@check(
    "VENDOR_INVOICE_DUPLICATE_SUSPECTED",
    family=FAMILY,
    severity=Severity.BLOCK,
    subject=VENDOR_INVOICE,
)
def duplicate_suspected(
    invoice: VendorInvoice, context: VendorInvoiceContext
) -> Iterator[Observation]:
    """An earlier invoice of the vendor has the same normalised number, or the same gross
    amount and currency within the duplicate window, whichever seller entity it was to.

    Two invoices of the same amount that bill two different purchase orders are a recurring
    charge (one order per month), not a duplicate: the amount rule compares invoices of the
    same order, or where either names no order.
    """
    for earlier in context.possible_duplicates:
        if earlier.pk == invoice.pk:
            continue
        same_number = earlier.normalized_number == invoice.normalized_number
        both_ordered = earlier.purchase_order_id and invoice.purchase_order_id
        if (
            not same_number
            and both_ordered
            and earlier.purchase_order_id != invoice.purchase_order_id
        ):
            continue
        if same_number:
            reason = f"the same invoice number ({invoice.normalized_number} when normalised)"
        else:
            days = abs((invoice.issue_date - earlier.issue_date).days)
            reason = (
                f"the same gross amount {earlier.gross_amount} {earlier.currency}, "
                f"issued {days} days apart (window {context.window_days} days)"
            )
        yield Observation(
            subject="invoice",
            message=(
                f"invoice {invoice.number} of {invoice.vendor.code} has {reason} as invoice "
                f"{earlier.number} (id {earlier.pk}, {earlier.get_status_display()}), "
                f"issued {earlier.issue_date} to {earlier.seller_entity.code}."
            ),
            expected="an invoice not recorded before",
            actual=f"invoice {earlier.number} of {earlier.issue_date}",
            amount_at_stake=Money(invoice.gross_amount, invoice.currency).rounded(),
            evidence={
                "earlier_invoice_id": str(earlier.pk),
                "earlier_number": earlier.number,
                "earlier_issue_date": earlier.issue_date.isoformat(),
                "earlier_gross_amount": f"{earlier.gross_amount} {earlier.currency}",
                "earlier_seller_entity": earlier.seller_entity.code,
                "earlier_status": earlier.status,
                "normalized_number": invoice.normalized_number,
            },
        )


@check(
    "VENDOR_BANK_ACCOUNT_MISMATCH",
    family=FAMILY,
    severity=Severity.BLOCK,
    subject=VENDOR_INVOICE,
)
def bank_account_mismatch(
    invoice: VendorInvoice, context: VendorInvoiceContext
) -> Iterator[Observation]:
    """The payee account on the invoice is not one of the vendor's approved bank accounts.

    Accounts are compared in compact upper-case form. An invoice that names no payee account
    is not flagged: it is paid to the approved account.
    """
    payee = compact_account(invoice.payee_iban)
    if not payee or payee in context.approved_ibans:
        return
    approved = ", ".join(context.approved_ibans) or "none on record"
    yield Observation(
        subject="payee account",
        message=(
            f"invoice {invoice.number} asks for payment to {payee}, which is not an approved "
            f"bank account of {invoice.vendor.code} ({approved})."
        ),
        expected=approved,
        actual=payee,
        amount_at_stake=Money(invoice.gross_amount, invoice.currency).rounded(),
        evidence={
            "payee_iban": payee,
            "approved_ibans": approved,
            "fix": "Confirm the change with the vendor by a known contact; a new account is "
            "approved through a change request to the vendor bank details.",
        },
    )
