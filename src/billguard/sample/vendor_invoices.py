"""Vendor invoices of the sample company, against its purchase orders, with four seeded faults.

Each vendor in an IBAN country gets one approved bank account. The orders are taken in
number order: the first suitable ones carry the faults, the next ones are invoiced cleanly,
with their lines received in full first (receipts are recorded only where a line has none).

Seeded faults, one invoice each:

- VENDOR_INVOICE_DUPLICATE_SUSPECTED: an invoice sent again with its number written
  differently ("INV-2026-00101", then "inv 2026 101"), each billing half of one line, so the
  pair stays within the receipts.
- VENDOR_BANK_ACCOUNT_MISMATCH: the payee account is a valid IBAN that is not the vendor's.
- MATCH_QUANTITY_EXCEEDS_RECEIPT: the whole line is billed, half of it was received.
- MATCH_PRICE_VARIANCE: the unit price is 10 % above the order's.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import User
from stdnum import iban as iban_number

from billguard.procurement.models import PurchaseOrder, PurchaseOrderLine, Receipt
from billguard.procurement.purchase_orders import order_fully_received
from billguard.procurement.vendor_invoice_input import VendorInvoiceInput, VendorInvoiceLineInput
from billguard.procurement.vendor_invoices import vendor_invoice_record
from billguard.registry.models import Party, VendorBankAccount
from billguard.sample.calendar import AS_OF
from billguard.sample.users import SAMPLE_USERS

logger = logging.getLogger(__name__)

DUPLICATE = "VENDOR_INVOICE_DUPLICATE_SUSPECTED"
BANK_ACCOUNT = "VENDOR_BANK_ACCOUNT_MISMATCH"
QUANTITY = "MATCH_QUANTITY_EXCEEDS_RECEIPT"
PRICE = "MATCH_PRICE_VARIANCE"
SEEDED_CODES = (DUPLICATE, BANK_ACCOUNT, QUANTITY, PRICE)

# Clean invoices after the fault carriers, so the demo stays quick.
MAX_CLEAN_INVOICES = 12
PRICE_UPLIFT = Decimal("1.10")
GERMAN_VAT = Decimal("0.19")
CENT = Decimal("0.01")
# The bank code of each IBAN country's sample accounts (BBAN prefix).
BANK_CODES = {"DE": "37040044", "NL": "ABNA"}
# A valid IBAN that belongs to no sample vendor (ISO 13616 example account).
FOREIGN_IBAN = "GB82WEST12345698765432"


@dataclass
class SampleVendorInvoices:
    """The invoice number that carries each seeded fault, and the clean invoice numbers."""

    faults: dict[str, str] = field(default_factory=dict)
    clean: list[str] = field(default_factory=list)


def write_vendor_invoices() -> SampleVendorInvoices:
    """Record the sample's vendor invoices as the procurement user, with their receipts."""
    by = _recorder()
    accounts = _approved_accounts()
    orders = list(
        PurchaseOrder.objects.select_related("vendor").prefetch_related("lines").order_by("number")
    )
    result = SampleVendorInvoices()
    numbers = _Numbers()
    remaining = list(orders)

    duplicate_order = _take(remaining, lambda order: _half_line(order) is not None)
    if duplicate_order is not None:
        line = _half_line(duplicate_order)
        assert line is not None
        quantity = line.quantity // 2
        _receive(line, line.quantity)
        number = numbers.next(duplicate_order.vendor)
        _record([(line, quantity, line.unit_price)], duplicate_order, number, accounts, by)
        resent = number.replace("-", " ").lower().replace(" 00", " ")
        _record(
            [(line, quantity, line.unit_price)],
            duplicate_order,
            resent,
            accounts,
            by,
            days_later=6,
        )
        result.faults[DUPLICATE] = resent

    bank_order = _take(remaining, lambda order: order.vendor.pk in accounts)
    if bank_order is not None:
        number = numbers.next(bank_order.vendor)
        _record(_whole(bank_order), bank_order, number, accounts, by, payee=FOREIGN_IBAN)
        result.faults[BANK_ACCOUNT] = number

    quantity_order = _take(remaining, lambda order: _short_line(order) is not None)
    if quantity_order is not None:
        line = _short_line(quantity_order)
        assert line is not None
        _receive(line, line.quantity // 2)
        number = numbers.next(quantity_order.vendor)
        billed = _whole(quantity_order, billed_in_full=line)
        _record(billed, quantity_order, number, accounts, by)
        result.faults[QUANTITY] = number

    price_order = _take(remaining, lambda order: True)
    if price_order is not None:
        lines = [
            (line, quantity, (price * PRICE_UPLIFT).quantize(CENT, ROUND_HALF_UP))
            for line, quantity, price in _whole(price_order)
        ]
        number = numbers.next(price_order.vendor)
        _record(lines, price_order, number, accounts, by)
        result.faults[PRICE] = number

    for order in remaining[:MAX_CLEAN_INVOICES]:
        number = numbers.next(order.vendor)
        _record(_whole(order), order, number, accounts, by)
        result.clean.append(number)
    logger.info(
        "sample vendor invoices: %d seeded faults, %d clean",
        len(result.faults),
        len(result.clean),
    )
    return result


class _Numbers:
    """Invoice numbers INV-2026-00101, INV-2026-00102, ..., unique across the sample vendors,
    so that only the seeded duplicate shares a number."""

    def __init__(self) -> None:
        self.last = 100

    def next(self, vendor: Party) -> str:
        self.last += 1
        return f"INV-2026-{self.last:05d}"


def _record(
    lines: list[tuple[PurchaseOrderLine, Decimal, Decimal]],
    order: PurchaseOrder,
    number: str,
    accounts: dict[int, str],
    by: User | None,
    *,
    payee: str | None = None,
    days_later: int = 0,
) -> None:
    issue_date = min(order.ordered_on + dt.timedelta(days=21 + days_later), AS_OF)
    line_inputs = []
    for position, (line, quantity, unit_price) in enumerate(lines, start=1):
        line_inputs.append(
            VendorInvoiceLineInput(
                line_number=position,
                order_line=line.line_number,
                quantity=quantity,
                unit_price=unit_price,
                net_amount=(quantity * unit_price).quantize(CENT, ROUND_HALF_UP),
                description=line.description,
                unit_code=line.unit_code,
            )
        )
    net = sum((line.net_amount for line in line_inputs), Decimal(0))
    german = order.currency == "EUR" and order.vendor.country == "DE"
    tax = (net * GERMAN_VAT).quantize(CENT, ROUND_HALF_UP) if german else Decimal(0)
    entry = VendorInvoiceInput(
        vendor=order.vendor.code,
        purchase_order=order.number,
        number=number,
        issue_date=issue_date,
        due_date=issue_date + dt.timedelta(days=30),
        currency=order.currency,
        lines=line_inputs,
        net_amount=net,
        tax_amount=tax,
        gross_amount=net + tax,
        payee_iban=payee if payee is not None else accounts.get(order.vendor.pk, ""),
    )
    vendor_invoice_record(entry, by=by)


def _whole(
    order: PurchaseOrder, *, billed_in_full: PurchaseOrderLine | None = None
) -> list[tuple[PurchaseOrderLine, Decimal, Decimal]]:
    """Return every line of ``order`` billed at its price for the quantity received, after
    receiving in full the lines that have no receipt yet. ``billed_in_full`` is billed for
    its whole ordered quantity, whatever was received."""
    lines = sorted(order.lines.all(), key=lambda line: line.line_number)
    billed = []
    for line in lines:
        _receive(line, line.quantity)
        received = sum((r.quantity for r in line.receipts.all()), Decimal(0))
        quantity = (
            line.quantity
            if billed_in_full is not None and line.pk == billed_in_full.pk
            else received
        )
        billed.append((line, quantity, line.unit_price))
    return billed


def _receive(line: PurchaseOrderLine, quantity: Decimal) -> None:
    if line.receipts.exists():
        return
    received_on = min(line.purchase_order.ordered_on + dt.timedelta(days=14), AS_OF)
    Receipt.objects.create(
        line=line,
        quantity=quantity,
        received_on=received_on,
        reference=f"DN-{line.purchase_order.number}-{line.line_number}",
        recorded_by="sample",
    )
    order = line.purchase_order
    open_statuses = (PurchaseOrder.Status.APPROVED, PurchaseOrder.Status.SENT)
    if order.status in open_statuses and order_fully_received(order):
        order.status = PurchaseOrder.Status.RECEIVED
        order.save(update_fields=["status"])


def _half_line(order: PurchaseOrder) -> PurchaseOrderLine | None:
    """Return the first line of at least 2 units without receipts, so that half of it can be
    billed."""
    for line in sorted(order.lines.all(), key=lambda line: line.line_number):
        if line.quantity >= 2 and not line.receipts.exists():
            return line
    return None


def _short_line(order: PurchaseOrder) -> PurchaseOrderLine | None:
    """Return the first line of at least 2 units that is not received in full, so that
    billing all of it bills more than was received."""
    for line in sorted(order.lines.all(), key=lambda line: line.line_number):
        received = sum((r.quantity for r in line.receipts.all()), Decimal(0))
        if line.quantity >= 2 and received < line.quantity:
            return line
    return None


def _take(
    orders: list[PurchaseOrder], suitable: Callable[[PurchaseOrder], bool]
) -> PurchaseOrder | None:
    for index, order in enumerate(orders):
        if suitable(order):
            return orders.pop(index)
    return None


def _approved_accounts() -> dict[int, str]:
    """Give each vendor in an IBAN country without a bank account one; return them by vendor."""
    accounts: dict[int, str] = {}
    vendors = Party.objects.filter(kind=Party.Kind.VENDOR).order_by("code")
    for index, vendor in enumerate(vendors, start=1):
        existing = vendor.bank_accounts.order_by("pk").first()
        if existing is not None:
            accounts[vendor.pk] = existing.iban
            continue
        bank_code = BANK_CODES.get(vendor.country)
        if bank_code is None:
            continue
        account = f"{index:010d}"
        draft = f"{vendor.country}00{bank_code}{account}"
        iban = f"{vendor.country}{iban_number.calc_check_digits(draft)}{bank_code}{account}"
        VendorBankAccount.objects.create(
            party=vendor, iban=iban, account_name=vendor.name, is_primary=True
        )
        accounts[vendor.pk] = iban
    return accounts


def _recorder() -> User | None:
    procurement = next((name for name, role, _ in SAMPLE_USERS if role == "procurement"), "")
    return User.objects.filter(username=procurement).first()
