"""Validation of a vendor invoice before it is stored: every value, all problems at once.

The vendor is a party of kind vendor, active and not merged into another party. The currency
is an ISO 4217 code. The purchase order exists and is to that vendor, and a seller entity
that is named must have placed it. Each order line named exists on that order. Each line's
net amount is its quantity times its unit price to the cent (EN 16931 BT-131). The line
amounts add up to the net total, and net plus tax is the gross total (EN 16931 BR-CO-13,
BR-CO-15). The due date is not before the issue date, which is not in the future.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from stdnum import iban as iban_number

from billguard.domain.currencies import is_currency, minor_units
from billguard.domain.errors import BillguardError, InvalidInput, NotFound, RuleViolation
from billguard.domain.rounding import RoundingMode, round_decimal
from billguard.procurement.models import PurchaseOrder, PurchaseOrderLine
from billguard.procurement.vendor_invoice_input import (
    VendorInvoiceInput,
    VendorInvoiceInvalid,
    VendorInvoiceLineInput,
    normalize_invoice_number,
)
from billguard.registry.models import Party, SellerEntity

MAX_NUMBER_LENGTH = 60
MAX_ACCOUNT_LENGTH = 34  # ISO 13616: an IBAN has at most 34 characters
# The largest values the amount, quantity and price columns store (18 digits with 3 decimals,
# 18 with 4, 20 with 6).
MAX_AMOUNT = Decimal(10) ** 15
MAX_QUANTITY = Decimal(10) ** 14
MAX_PRICE = Decimal(10) ** 14
QUANTITY_DECIMALS = 4
PRICE_DECIMALS = 6

# ISO 13616: two letters of the country, two check digits, then the national account number.
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_ACCOUNT_SHAPE = re.compile(r"[A-Z0-9]+")


@dataclass
class ValidatedInvoice:
    """A vendor invoice whose every value passed, with the records it names."""

    entry: VendorInvoiceInput
    vendor: Party
    seller_entity: SellerEntity
    order: PurchaseOrder
    normalized_number: str
    payee_iban: str
    # The order line each invoice line names, by invoice line number (None: no order line).
    order_lines: dict[int, PurchaseOrderLine | None] = field(default_factory=dict)


def vendor_invoice_validate(entry: VendorInvoiceInput) -> ValidatedInvoice:
    """Return ``entry`` with the records it names, or raise VendorInvoiceInvalid listing every
    problem found."""
    validated, problems = vendor_invoice_problems(entry)
    if problems or validated is None:
        raise VendorInvoiceInvalid(entry.source_file, problems)
    return validated


def vendor_invoice_problems(
    entry: VendorInvoiceInput,
) -> tuple[ValidatedInvoice | None, list[BillguardError]]:
    """Return ``entry`` validated (None when a record it names is missing) and its problems."""
    problems: list[BillguardError] = []
    number = _number(entry, problems)
    vendor = _vendor(entry, problems)
    currency_ok = _currency(entry, problems)
    order = _order(entry, vendor, problems)
    seller_entity = _seller_entity(entry, order, problems)
    _dates(entry, problems)
    payee_iban = payee_account(
        entry.payee_iban,
        place=entry.place("payee_iban"),
        problems=problems,
        check_iban=entry.source != "ubl",
    )
    order_lines = _lines(entry, order, currency_ok, problems)
    if currency_ok:
        _totals(entry, problems)

    if vendor is None or order is None or seller_entity is None or problems:
        return None, problems
    return (
        ValidatedInvoice(
            entry=entry,
            vendor=vendor,
            seller_entity=seller_entity,
            order=order,
            normalized_number=number,
            payee_iban=payee_iban,
            order_lines=order_lines,
        ),
        problems,
    )


def arithmetic_problems(entry: VendorInvoiceInput, *, totals: bool) -> list[BillguardError]:
    """Return the problems of ``entry``'s lines (and of its totals with ``totals``) that need
    no database: quantities, prices, line amounts, and how they add up.

    Used for an invoice whose other values could not be read, so that its rows are still
    reported. Returns nothing when the currency is unknown, because amounts depend on it.
    """
    problems: list[BillguardError] = []
    if not is_currency(entry.currency):
        return problems
    for line in entry.lines:
        _line_values(entry, line, problems)
        _line_net(entry, line, problems)
    if totals:
        _totals(entry, problems)
    return problems


def compact_account(value: str) -> str:
    """Return a bank account identifier without spaces or hyphens, in upper case."""
    return re.sub(r"[\s-]+", "", value).upper()


def payee_account(
    value: str, *, place: str, problems: list[BillguardError], check_iban: bool = True
) -> str:
    """Return the payee account in compact form, adding a problem when it is malformed.

    With ``check_iban``, an IBAN-shaped value must have valid ISO 13616 check digits. A UBL
    invoice's payment account identifier (EN 16931 BT-84) need not be an IBAN, so it is kept
    as the vendor wrote it, and the bank account check holds it unless it is approved. A
    national account number with only letters and digits is kept as given.
    """
    account = compact_account(value)
    if not account:
        return ""
    if len(account) > MAX_ACCOUNT_LENGTH or not _ACCOUNT_SHAPE.fullmatch(account):
        problems.append(
            InvalidInput(
                f"the payee account {value!r} is not an IBAN or account number.",
                place=place,
                value=value,
                fix="Give the IBAN (at most 34 letters and digits, spaces allowed).",
            )
        )
        return ""
    if check_iban and _IBAN_SHAPE.fullmatch(account) and not iban_number.is_valid(account):
        problems.append(
            InvalidInput(
                f"the IBAN {value!r} has wrong check digits (ISO 13616).",
                place=place,
                value=value,
                fix="Copy the IBAN again from the vendor's invoice; a digit is wrong.",
            )
        )
        return ""
    return account


# Invoice-level fields


def _number(entry: VendorInvoiceInput, problems: list[BillguardError]) -> str:
    number = entry.number.strip()
    place = entry.place("number")
    if not number:
        problems.append(
            InvalidInput(
                "the invoice number is empty.",
                place=place,
                fix="Give the number as printed on the vendor's invoice.",
            )
        )
        return ""
    if len(number) > MAX_NUMBER_LENGTH:
        problems.append(
            InvalidInput(
                f"the invoice number {number!r} has more than {MAX_NUMBER_LENGTH} characters.",
                place=place,
                value=number,
                fix="Check that the column holds the invoice number and nothing else.",
            )
        )
        return ""
    normalized = normalize_invoice_number(number)
    if not normalized:
        problems.append(
            InvalidInput(
                f"the invoice number {number!r} has no letter or digit.",
                place=place,
                value=number,
                fix="Give the number as printed on the vendor's invoice.",
            )
        )
    return normalized


def _vendor(entry: VendorInvoiceInput, problems: list[BillguardError]) -> Party | None:
    code = entry.vendor.strip()
    place = entry.place("vendor")
    vendor = Party.objects.filter(code=code).select_related("merged_into").first()
    if vendor is None:
        problems.append(
            NotFound(
                f"vendor {code!r} was not found.",
                place=place,
                value=code,
                fix="Give the party code of an existing vendor, or create the vendor first.",
            )
        )
        return None
    if vendor.kind != Party.Kind.VENDOR:
        problems.append(
            InvalidInput(
                f"party {code!r} is a {vendor.kind}, not a vendor.",
                place=place,
                value=code,
                fix="Give the party code of the vendor that sent the invoice.",
            )
        )
        return None
    if vendor.merged_into is not None:
        problems.append(
            RuleViolation(
                f"vendor {code!r} was merged into {vendor.merged_into.code!r}.",
                place=place,
                value=code,
                fix=f"Record the invoice on vendor {vendor.merged_into.code!r}.",
            )
        )
        return None
    if vendor.archived_at is not None:
        problems.append(
            RuleViolation(
                f"vendor {code!r} is archived.",
                place=place,
                value=code,
                fix="Restore the vendor before recording its invoices.",
            )
        )
        return None
    return vendor


def _currency(entry: VendorInvoiceInput, problems: list[BillguardError]) -> bool:
    if is_currency(entry.currency):
        return True
    problems.append(
        InvalidInput(
            f"{entry.currency!r} is not an ISO 4217 currency code.",
            place=entry.place("currency"),
            value=entry.currency,
            fix="Use a three-letter code in capitals, such as EUR, USD or DKK.",
        )
    )
    return False


def _order(
    entry: VendorInvoiceInput, vendor: Party | None, problems: list[BillguardError]
) -> PurchaseOrder | None:
    number = entry.purchase_order.strip()
    place = entry.place("purchase_order")
    if not number:
        problems.append(
            InvalidInput(
                "the purchase order number is empty, but every vendor invoice is matched "
                "against a purchase order.",
                place=place,
                fix="Give the number of our purchase order that the invoice bills.",
            )
        )
        return None
    order = PurchaseOrder.objects.filter(number=number).select_related("vendor").first()
    if order is None:
        problems.append(
            NotFound(
                f"purchase order {number!r} was not found.",
                place=place,
                value=number,
                fix="Give the number of an existing purchase order, such as PO-0001.",
            )
        )
        return None
    if vendor is not None and order.vendor_id != vendor.pk:
        problems.append(
            RuleViolation(
                f"purchase order {number!r} is to vendor {order.vendor.code!r}, not to "
                f"{vendor.code!r}.",
                place=place,
                value=number,
                fix="Give the order that this vendor's invoice bills, or the right vendor.",
            )
        )
        return None
    return order


def _seller_entity(
    entry: VendorInvoiceInput, order: PurchaseOrder | None, problems: list[BillguardError]
) -> SellerEntity | None:
    code = entry.seller_entity.strip()
    if not code:
        return order.seller_entity if order is not None else None
    place = entry.place("seller_entity")
    seller_entity = SellerEntity.objects.filter(code=code).first()
    if seller_entity is None:
        problems.append(
            NotFound(
                f"seller entity {code!r} was not found.",
                place=place,
                value=code,
                fix="Give the code of one of our entities, or leave it empty to take the "
                "purchase order's.",
            )
        )
        return None
    if order is not None and order.seller_entity_id != seller_entity.pk:
        problems.append(
            RuleViolation(
                f"the invoice is addressed to {code!r}, but purchase order {order.number!r} "
                f"was placed by {order.seller_entity.code!r}.",
                place=place,
                value=code,
                fix="Give the entity that placed the order, or leave it empty.",
            )
        )
        return None
    return seller_entity


def _dates(entry: VendorInvoiceInput, problems: list[BillguardError]) -> None:
    today = timezone.localdate()
    if entry.issue_date > today:
        problems.append(
            InvalidInput(
                f"the issue date {entry.issue_date} is in the future (today is {today}).",
                place=entry.place("issue_date"),
                value=entry.issue_date.isoformat(),
                fix="Give the date printed on the invoice, as YYYY-MM-DD.",
            )
        )
    if entry.due_date is not None and entry.due_date < entry.issue_date:
        problems.append(
            InvalidInput(
                f"the due date {entry.due_date} is before the issue date {entry.issue_date}.",
                place=entry.place("due_date"),
                value=entry.due_date.isoformat(),
                fix="Give the due date printed on the invoice, or leave it empty.",
            )
        )


# Lines and totals


def _lines(
    entry: VendorInvoiceInput,
    order: PurchaseOrder | None,
    currency_ok: bool,
    problems: list[BillguardError],
) -> dict[int, PurchaseOrderLine | None]:
    if not entry.lines:
        problems.append(
            InvalidInput(
                "the invoice has no lines.",
                place=entry.place("lines"),
                fix="Add one line per purchase order line billed.",
            )
        )
        return {}
    order_lines = (
        {line.line_number: line for line in order.lines.all()} if order is not None else {}
    )
    matched: dict[int, PurchaseOrderLine | None] = {}
    for line in entry.lines:
        if line.line_number < 1 or line.line_number in matched:
            problems.append(
                InvalidInput(
                    f"line number {line.line_number} is used twice or is less than 1.",
                    place=entry.line_place(line, "line_number"),
                    value=line.line_number,
                    fix="Number the lines of an invoice 1, 2, 3 and so on.",
                )
            )
        matched[line.line_number] = _order_line(entry, line, order, order_lines, problems)
        _line_values(entry, line, problems)
        if currency_ok:
            _line_net(entry, line, problems)
    _match_unreferenced(entry, matched, order_lines)
    return matched


def _match_unreferenced(
    entry: VendorInvoiceInput,
    matched: dict[int, PurchaseOrderLine | None],
    order_lines: dict[int, PurchaseOrderLine],
) -> None:
    """Give a line that names no order line (EN 16931 BT-132 is optional) the one order line
    that no other line of the invoice names and that has its unit price.

    Where none or several order lines qualify, the line stays unmatched, and the three-way
    match reports it.
    """
    named = {line.pk for line in matched.values() if line is not None}
    for line in entry.lines:
        if line.order_line is not None or matched.get(line.line_number) is not None:
            continue
        candidates = [
            order_line
            for order_line in order_lines.values()
            if order_line.pk not in named and order_line.unit_price == line.unit_price
        ]
        if len(candidates) == 1:
            matched[line.line_number] = candidates[0]
            named.add(candidates[0].pk)


def _order_line(
    entry: VendorInvoiceInput,
    line: VendorInvoiceLineInput,
    order: PurchaseOrder | None,
    order_lines: dict[int, PurchaseOrderLine],
    problems: list[BillguardError],
) -> PurchaseOrderLine | None:
    if line.order_line is None or order is None:
        return None
    found = order_lines.get(line.order_line)
    if found is None:
        known = ", ".join(str(number) for number in sorted(order_lines)) or "none"
        problems.append(
            NotFound(
                f"purchase order {order.number!r} has no line {line.order_line} "
                f"(its lines: {known}).",
                place=entry.line_place(line, "order_line"),
                value=line.order_line,
                fix="Give the number of the order line that this invoice line bills.",
            )
        )
    return found


def _line_values(
    entry: VendorInvoiceInput, line: VendorInvoiceLineInput, problems: list[BillguardError]
) -> None:
    if line.quantity <= 0 or line.quantity >= MAX_QUANTITY:
        problems.append(
            InvalidInput(
                f"the quantity {line.quantity} is not more than zero, or too large.",
                place=entry.line_place(line, "quantity"),
                value=line.quantity,
                fix="Give the quantity billed; a vendor credit is not a vendor invoice.",
            )
        )
    elif _decimals(line.quantity) > QUANTITY_DECIMALS:
        problems.append(
            InvalidInput(
                f"the quantity {line.quantity} has more than {QUANTITY_DECIMALS} decimals.",
                place=entry.line_place(line, "quantity"),
                value=line.quantity,
                fix=f"Round the quantity to {QUANTITY_DECIMALS} decimals.",
            )
        )
    if line.unit_price < 0 or line.unit_price >= MAX_PRICE:
        problems.append(
            InvalidInput(
                f"the unit price {line.unit_price} is negative or too large.",
                place=entry.line_place(line, "unit_price"),
                value=line.unit_price,
                fix="Give the net price per unit, zero or more (EN 16931 BR-27).",
            )
        )
    if line.price_base_quantity <= 0:
        problems.append(
            InvalidInput(
                f"the price base quantity {line.price_base_quantity} is not more than zero.",
                place=entry.line_place(line, "price_base_quantity"),
                value=line.price_base_quantity,
                fix="Give the number of units the price is for, such as 1 (EN 16931 BT-149).",
            )
        )
    elif _decimals(line.unit_price / line.price_base_quantity) > PRICE_DECIMALS:
        problems.append(
            InvalidInput(
                f"the unit price {line.unit_price} per {line.price_base_quantity} has more "
                f"than {PRICE_DECIMALS} decimals per unit.",
                place=entry.line_place(line, "unit_price"),
                value=line.unit_price,
                fix=f"Give the price per unit with at most {PRICE_DECIMALS} decimals.",
            )
        )


def _line_net(
    entry: VendorInvoiceInput, line: VendorInvoiceLineInput, problems: list[BillguardError]
) -> None:
    place = entry.line_place(line, "net_amount")
    if not _amount_ok(entry.currency, line.net_amount, place, problems):
        return
    if line.price_base_quantity <= 0:
        return
    decimals = minor_units(entry.currency)
    extended = round_decimal(
        line.quantity * line.unit_price / line.price_base_quantity, decimals, RoundingMode.HALF_UP
    )
    expected = extended - line.allowances + line.charges
    if line.net_amount != expected:
        adjustments = ""
        if line.allowances or line.charges:
            adjustments = f" less allowances {line.allowances} plus charges {line.charges}"
        problems.append(
            InvalidInput(
                f"the line net amount {line.net_amount} is not quantity {line.quantity} times "
                f"unit price {line.unit_price}{adjustments}, which is {expected} "
                f"{entry.currency}.",
                place=place,
                value=line.net_amount,
                fix="Correct the quantity, the unit price or the line amount, so that they "
                "agree to the cent.",
            )
        )


def _totals(entry: VendorInvoiceInput, problems: list[BillguardError]) -> None:
    amounts_ok = [
        _amount_ok(entry.currency, amount, entry.place(name), problems)
        for name, amount in (
            ("net_amount", entry.net_amount),
            ("tax_amount", entry.tax_amount),
            ("gross_amount", entry.gross_amount),
        )
    ]
    if not all(amounts_ok):
        return
    if entry.tax_amount < 0:
        problems.append(
            InvalidInput(
                f"the tax total {entry.tax_amount} is negative.",
                place=entry.place("tax_amount"),
                value=entry.tax_amount,
                fix="Give the invoice's VAT or sales tax total, zero or more.",
            )
        )
    if entry.gross_amount <= 0:
        problems.append(
            InvalidInput(
                f"the gross total {entry.gross_amount} is not more than zero.",
                place=entry.place("gross_amount"),
                value=entry.gross_amount,
                fix="Record only invoices that bill an amount; a vendor credit is not one.",
            )
        )
    line_sum = sum((line.net_amount for line in entry.lines), Decimal(0))
    expected_net = line_sum - entry.allowance_total + entry.charge_total
    if entry.lines and entry.net_amount != expected_net:
        adjustments = ""
        if entry.allowance_total or entry.charge_total:
            adjustments = (
                f" {line_sum} less allowances {entry.allowance_total} plus charges "
                f"{entry.charge_total}"
            )
        problems.append(
            InvalidInput(
                f"the net total {entry.net_amount} is not {expected_net} {entry.currency}, the "
                f"sum of the line amounts{adjustments} (EN 16931 BR-CO-13).",
                place=entry.place("net_amount"),
                value=entry.net_amount,
                fix="Correct the net total or the line amounts.",
            )
        )
    if entry.net_amount + entry.tax_amount != entry.gross_amount:
        problems.append(
            InvalidInput(
                f"the gross total {entry.gross_amount} is not net {entry.net_amount} plus tax "
                f"{entry.tax_amount}, which is {entry.net_amount + entry.tax_amount} "
                f"{entry.currency} (EN 16931 BR-CO-15).",
                place=entry.place("gross_amount"),
                value=entry.gross_amount,
                fix="Correct the gross total, the net total or the tax total.",
            )
        )


def _amount_ok(currency: str, amount: Decimal, place: str, problems: list[BillguardError]) -> bool:
    decimals = minor_units(currency)
    if abs(amount) >= MAX_AMOUNT or _decimals(amount) > decimals:
        problems.append(
            InvalidInput(
                f"the amount {amount} has more than {decimals} decimals, the minor unit of "
                f"{currency} (ISO 4217), or is too large.",
                place=place,
                value=amount,
                fix=f"Give the amount as printed, with at most {decimals} decimals.",
            )
        )
        return False
    return True


def _decimals(value: Decimal) -> int:
    """Return the number of decimals ``value`` needs: 1.500 needs 1, 12 needs 0."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0
