"""Credit notes that reverse an issued invoice, in full or in part.

An EN 16931 credit note (UNTDID 1001 code 381) states the same positive quantities and
amounts as the invoice it reverses, because its document type makes them credits. It refers
to the invoice through the preceding invoice reference (BT-25).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

from billguard.domain.currencies import minor_units
from billguard.domain.errors import InvalidInput, RuleViolation
from billguard.domain.invoice import (
    AllowanceCharge,
    DocumentType,
    InvoiceDocument,
    InvoiceLine,
    Totals,
)
from billguard.domain.money import to_decimal
from billguard.domain.rounding import RoundingMode, exact_sum, round_decimal, scale_by_ratio
from billguard.domain.tax import build_document_totals, line_net_amount, parse_tax_category

# A VAT category code and its normalized rate, with 0 for a category without a rate.
_TaxKey = tuple[str, Decimal]


def credit_note_for(
    invoice: InvoiceDocument,
    *,
    lines: Mapping[str, Decimal] | Collection[str] | None = None,
    allowances_charges: Sequence[AllowanceCharge] | None = None,
    number: str = "",
    issue_date: dt.date | None = None,
    mode: RoundingMode = RoundingMode.HALF_UP,
) -> InvoiceDocument:
    """Draft a credit note that reverses ``invoice``, with its VAT recomputed per category.

    Without ``lines`` the credit note reverses the whole invoice: it copies every line and
    every document allowance and charge, so its VAT breakdown and totals equal the invoice's.
    With ``lines`` it reverses part of the invoice. A collection of line ids credits those
    lines in full, and a mapping from line id to quantity credits that quantity of each line.
    A line credited in part keeps its price, its line allowances and charges are scaled by
    credited / invoiced quantity, and its net amount is computed again (BT-131).

    A selection of every line at its full quantity is a full credit. In any other partial
    credit, each document allowance and charge is scaled by the credited share of the line
    net amounts of its VAT category and rate, unless ``allowances_charges`` states the ones
    to credit. The credit note has no paid amount and no rounding amount, and it is
    a draft until it gets a ``number``.

    The VAT of the credit note is computed again by EN 16931 (build_document_totals). So an
    invoice whose stated VAT breakdown or totals differ from that computation, such as one
    imported from a system that rounds VAT per line, is not reversed to the cent.

    Raises RuleViolation unless ``invoice`` is an issued invoice, and InvalidInput for an
    unknown line id, a quantity that is zero, of the other sign or larger than the invoiced
    one, and a document allowance or charge that cannot be scaled.
    """
    _validate_creditable(invoice)
    decimals = minor_units(invoice.currency)

    if lines is None:
        credited_lines = copy.deepcopy(invoice.lines)
    else:
        credited_lines = _credit_lines(invoice, lines, decimals=decimals, mode=mode)

    # A selection of every line at its full quantity is a full credit, which also covers
    # document allowances and charges of a category and rate that no line has.
    if allowances_charges is not None:
        credited_allowances_charges = copy.deepcopy(list(allowances_charges))
    elif credited_lines == invoice.lines:
        credited_allowances_charges = copy.deepcopy(invoice.allowances_charges)
    else:
        credited_allowances_charges = _scale_document_allowances_charges(
            invoice, credited_lines, decimals=decimals, mode=mode
        )

    credit_note = InvoiceDocument(
        document_type=DocumentType.CREDIT_NOTE,
        number=number,
        issue_date=issue_date,
        currency=invoice.currency,
        seller=copy.deepcopy(invoice.seller),
        buyer=copy.deepcopy(invoice.buyer),
        lines=credited_lines,
        tax_subtotals=[],
        totals=_zero_totals(decimals),
        allowances_charges=credited_allowances_charges,
        buyer_reference=invoice.buyer_reference,
        order_reference=invoice.order_reference,
        contract_reference=invoice.contract_reference,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        payment_terms=invoice.payment_terms,
        preceding_invoice=invoice.number,
        tax_currency=invoice.tax_currency,
        source=f"credit note for invoice {invoice.number}",
    )
    credit_note.tax_subtotals, credit_note.totals = build_document_totals(credit_note, mode=mode)
    return credit_note


def _validate_creditable(invoice: InvoiceDocument) -> None:
    if invoice.document_type is not DocumentType.INVOICE:
        raise RuleViolation(
            f"document {invoice.number or '(draft)'} is a {invoice.document_type.value}, "
            "not an invoice.",
            place="invoice",
            value=invoice.number,
            fix="Credit the invoice that the credit note refers to, or issue a new invoice.",
        )
    if not invoice.number:
        raise RuleViolation(
            "the invoice is a draft without a number, so it cannot be credited.",
            place="invoice",
            value=invoice.number,
            fix="Change or delete the draft instead, because only issued invoices are credited.",
        )


def _credit_lines(
    invoice: InvoiceDocument,
    selection: Mapping[str, Decimal] | Collection[str],
    *,
    decimals: int,
    mode: RoundingMode,
) -> list[InvoiceLine]:
    if isinstance(selection, str):
        # A str is also a Collection[str] of its characters, so one id is wrapped in a list.
        selection = [selection]
    # None stands for the whole invoiced quantity.
    requested: dict[str, Decimal | None]
    if isinstance(selection, Mapping):
        requested = {
            line_id: to_decimal(quantity, place=f"quantity of line {line_id}")
            for line_id, quantity in selection.items()
        }
    else:
        requested = dict.fromkeys(selection)
    if not requested:
        raise InvalidInput(
            "no lines were selected for the credit note.",
            place="lines",
            value=selection,
            fix="Select at least one line, or leave the selection out to credit the invoice.",
        )

    invoice_line_ids = [line.line_id for line in invoice.lines]
    unknown = [line_id for line_id in requested if line_id not in invoice_line_ids]
    if unknown:
        raise InvalidInput(
            f"invoice {invoice.number} has no line {', '.join(map(str, unknown))}.",
            place="lines",
            value=unknown,
            fix=f"Use line ids of the invoice: {', '.join(invoice_line_ids)}.",
        )
    duplicated = {line_id for line_id in requested if invoice_line_ids.count(line_id) > 1}
    if duplicated:
        raise InvalidInput(
            f"invoice {invoice.number} has several lines with id "
            f"{', '.join(sorted(duplicated))}, so a selection by id is ambiguous.",
            place="lines",
            value=sorted(duplicated),
            fix="Credit the whole invoice, or correct the line ids of the invoice first.",
        )

    credited = []
    for line in invoice.lines:
        if line.line_id not in requested:
            continue
        quantity = requested[line.line_id]
        if quantity is None or quantity == line.quantity:
            credited.append(copy.deepcopy(line))
        else:
            credited.append(
                _credit_part_of_line(
                    line, quantity, currency=invoice.currency, decimals=decimals, mode=mode
                )
            )
    return credited


def _credit_part_of_line(
    line: InvoiceLine,
    quantity: Decimal,
    *,
    currency: str,
    decimals: int,
    mode: RoundingMode,
) -> InvoiceLine:
    invoiced = line.quantity
    if quantity == 0 or not _is_share_of(quantity, invoiced):
        raise InvalidInput(
            f"cannot credit quantity {quantity} of line {line.line_id}, which invoiced {invoiced}.",
            place=f"quantity of line {line.line_id}",
            value=quantity,
            fix=f"Credit a quantity with the sign of {invoiced} and not larger than it.",
        )

    scaled_allowances_charges = [
        _scaled(item, quantity, invoiced, decimals=decimals, mode=mode)
        for item in line.allowances_charges
    ]
    net_amount = line_net_amount(
        quantity,
        line.unit_price,
        line.price_base_quantity,
        scaled_allowances_charges,
        currency,
        mode,
    )
    return replace(
        copy.deepcopy(line),
        quantity=quantity,
        net_amount=net_amount,
        allowances_charges=scaled_allowances_charges,
    )


def _scale_document_allowances_charges(
    invoice: InvoiceDocument,
    credited_lines: list[InvoiceLine],
    *,
    decimals: int,
    mode: RoundingMode,
) -> list[AllowanceCharge]:
    invoiced_net = _net_by_tax_key(invoice.lines)
    credited_net = _net_by_tax_key(credited_lines)

    scaled = []
    for index, item in enumerate(invoice.allowances_charges):
        key = _tax_key(item.tax_category, item.tax_rate)
        invoiced = invoiced_net.get(key, Decimal(0))
        credited = credited_net.get(key, Decimal(0))
        # The share is only defined where the invoice has lines of the same category and
        # rate, and it must lie in 0..1, which lines of mixed signs can break.
        if invoiced == 0 or not _is_share_of(credited, invoiced):
            kind = "charge" if item.is_charge else "allowance"
            raise InvalidInput(
                f"document {kind} {index + 1} of invoice {invoice.number} cannot be scaled "
                "to the credited lines.",
                place="allowances_charges",
                value=item,
                fix="State the document allowances and charges to credit explicitly.",
            )
        if credited == 0:
            continue
        scaled.append(_scaled(item, credited, invoiced, decimals=decimals, mode=mode))
    return scaled


def _scaled(
    item: AllowanceCharge,
    numerator: Decimal,
    denominator: Decimal,
    *,
    decimals: int,
    mode: RoundingMode,
) -> AllowanceCharge:
    """Return a copy of ``item`` with its amount and base amount scaled and rounded."""
    if numerator == denominator:
        return copy.deepcopy(item)

    def scale(amount: Decimal) -> Decimal:
        return round_decimal(
            scale_by_ratio(to_decimal(amount), numerator, denominator), decimals, mode
        )

    return replace(
        copy.deepcopy(item),
        amount=scale(item.amount),
        base_amount=None if item.base_amount is None else scale(item.base_amount),
    )


def _is_share_of(part: Decimal, whole: Decimal) -> bool:
    """Return whether part / whole lies in 0..1, tested without a division that could round."""
    if part == 0:
        return True
    return (part > 0) == (whole > 0) and abs(part) <= abs(whole)


def _net_by_tax_key(lines: Sequence[InvoiceLine]) -> dict[_TaxKey, Decimal]:
    amounts: dict[_TaxKey, list[Decimal]] = {}
    for line in lines:
        key = _tax_key(line.tax_category, line.tax_rate)
        amounts.setdefault(key, []).append(to_decimal(line.net_amount))
    return {key: exact_sum(values) for key, values in amounts.items()}


def _tax_key(code: str, rate: Decimal | None) -> _TaxKey:
    # Same grouping as the VAT breakdown: a missing rate and a rate of 0 are one group.
    category = parse_tax_category(code).value
    return category, (Decimal(0) if rate is None else to_decimal(rate)).normalize()


def _zero_totals(decimals: int) -> Totals:
    zero = round_decimal(Decimal(0), decimals, RoundingMode.HALF_UP)
    return Totals(
        line_extension=zero,
        allowance_total=zero,
        charge_total=zero,
        tax_exclusive=zero,
        tax_total=zero,
        tax_inclusive=zero,
        prepaid=zero,
        rounding=zero,
        payable=zero,
    )
