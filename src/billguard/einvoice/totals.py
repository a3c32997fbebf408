"""Compute the VAT breakdown (BG-23) and document totals (BG-22) of an invoice from its lines.

VAT is computed once per VAT category and rate on the summed taxable amount, not per line, and
rounded HALF_UP to the currency's minor unit, as EN 16931 BR-CO-17 describes.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from billguard.domain.currencies import minor_units
from billguard.domain.invoice import AllowanceCharge, InvoiceLine, TaxSubtotal, Totals
from billguard.domain.rounding import RoundingMode, round_decimal


def compute_totals(
    lines: Sequence[InvoiceLine],
    currency: str,
    allowances_charges: Sequence[AllowanceCharge] = (),
) -> tuple[list[TaxSubtotal], Totals]:
    """Return the VAT breakdown and the totals of lines and document-level allowances/charges.

    Line net amounts are taken as they are. The breakdown lists categories in the order of their
    first line, and allowances or charges whose category has no line come last.
    """
    decimals = minor_units(currency)
    taxable: dict[tuple[str, Decimal | None], Decimal] = {}
    reasons: dict[tuple[str, Decimal | None], str] = {}
    for line in lines:
        key = (line.tax_category, line.tax_rate)
        taxable[key] = taxable.get(key, Decimal(0)) + line.net_amount
        if line.exemption_reason and not reasons.get(key):
            reasons[key] = line.exemption_reason
    for allowance_charge in allowances_charges:
        key = (allowance_charge.tax_category, allowance_charge.tax_rate)
        signed = allowance_charge.amount if allowance_charge.is_charge else -allowance_charge.amount
        taxable[key] = taxable.get(key, Decimal(0)) + signed

    subtotals = [
        TaxSubtotal(
            category=category,
            rate=rate,
            taxable_amount=amount,
            tax_amount=_vat(amount, rate, decimals),
            exemption_reason=reasons.get((category, rate), ""),
        )
        for (category, rate), amount in taxable.items()
    ]

    # BR-CO-10 to BR-CO-16: the sums and differences that link the totals.
    line_extension = sum((line.net_amount for line in lines), Decimal(0))
    allowance_total = sum((a.amount for a in allowances_charges if not a.is_charge), Decimal(0))
    charge_total = sum((a.amount for a in allowances_charges if a.is_charge), Decimal(0))
    tax_exclusive = line_extension - allowance_total + charge_total
    tax_total = sum((subtotal.tax_amount for subtotal in subtotals), Decimal(0))
    tax_inclusive = tax_exclusive + tax_total
    totals = Totals(
        line_extension=line_extension,
        allowance_total=allowance_total,
        charge_total=charge_total,
        tax_exclusive=tax_exclusive,
        tax_total=tax_total,
        tax_inclusive=tax_inclusive,
        prepaid=Decimal(0),
        rounding=Decimal(0),
        payable=tax_inclusive,
    )
    return subtotals, totals


def _vat(taxable_amount: Decimal, rate: Decimal | None, decimals: int) -> Decimal:
    if rate is None:
        # Category O has no rate and no VAT (BR-O-05).
        return round_decimal(Decimal(0), decimals, RoundingMode.HALF_UP)
    return round_decimal(taxable_amount * rate / 100, decimals, RoundingMode.HALF_UP)
