"""VAT of a document, computed per VAT category and rate as EN 16931 does.

EN 16931 computes VAT on the document and not on each line. The line net amounts, document
allowances and document charges of one category and rate add up to a taxable amount
(BR-S-08, BR-Z-08, BR-E-08 and the same rule for every other category). The tax is that
amount * rate / 100, rounded once (BR-CO-17). EN 16931 rounds to two decimals, and Billguard
rounds to the currency's minor unit (ISO 4217), which is the same for most currencies.

A US sales tax rate is a category S rate on the contract. Rates are Decimals with any number
of decimals, so a rate such as 8.875 % is exact.

The totals (BR-CO-10 to BR-CO-16) and the taxable amounts are sums, which are exact. A stated
VAT breakdown may differ a little from the computed one, because a seller may compute VAT per
line and add it up: ``taxable_amount_accepted`` and ``tax_amount_accepted`` apply the
tolerance of the EN 16931 validation rules.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from billguard.domain.currencies import minor_units
from billguard.domain.errors import InvalidInput
from billguard.domain.invoice import (
    AllowanceCharge,
    InvoiceDocument,
    InvoiceLine,
    TaxSubtotal,
    Totals,
)
from billguard.domain.money import to_decimal
from billguard.domain.rounding import RoundingMode, exact_sum, round_decimal, scale_by_ratio


class TaxCategory(enum.Enum):
    """VAT category codes of UNCL 5305 that EN 16931 uses (BT-95, BT-102, BT-118, BT-151)."""

    STANDARD = "S"
    ZERO_RATED = "Z"
    EXEMPT = "E"
    REVERSE_CHARGE = "AE"
    INTRA_COMMUNITY = "K"  # VAT exempt intra-community supply of goods and services
    EXPORT = "G"  # free export item, VAT not charged
    OUTSIDE_SCOPE = "O"  # services outside the scope of VAT
    CANARY_ISLANDS = "L"  # IGIC, Canary Islands general indirect tax
    CEUTA_MELILLA = "M"  # IPSI, tax on production, services and imports in Ceuta and Melilla
    SPLIT_PAYMENT = "B"  # Italian split payment: the buyer pays the VAT to the tax authority


def compute_tax_breakdown(
    lines: Sequence[InvoiceLine],
    allowances_charges: Sequence[AllowanceCharge],
    currency: str,
    mode: RoundingMode = RoundingMode.HALF_UP,
) -> list[TaxSubtotal]:
    """Compute the VAT breakdown (BG-23): one subtotal per VAT category and rate.

    The taxable amount (BT-116) is the sum of the line net amounts (BT-131), minus the
    document allowances (BT-92), plus the document charges (BT-99) of that category and rate.
    The tax amount (BT-117) is taxable amount * rate / 100, rounded once to the currency's
    minor unit with ``mode`` (BR-CO-17). Subtotals come in the order in which their category
    and rate first appear, lines before allowances and charges. The exemption reason of a
    subtotal is the first one found on its lines.

    Raises InvalidInput for an unknown category code, a rate that the category does not
    allow, and a document allowance or charge without a category (BR-32, BR-37).
    """
    decimals = minor_units(currency)
    groups: dict[tuple[TaxCategory, Decimal | None], _TaxGroup] = {}

    for line in lines:
        place = f"line {line.line_id}"
        group = _group_for(groups, line.tax_category, line.tax_rate, place=place)
        group.amounts.append(to_decimal(line.net_amount, place=f"{place} net amount"))
        if line.exemption_reason and not group.exemption_reason:
            group.exemption_reason = line.exemption_reason

    for index, allowance_charge in enumerate(allowances_charges):
        place = f"document {_kind(allowance_charge)} {index + 1}"
        if not allowance_charge.tax_category:
            raise InvalidInput(
                f"{place} has no VAT category code.",
                place=place,
                value=allowance_charge.tax_category,
                fix="Give every document allowance and charge a VAT category (BR-32, BR-37).",
            )
        group = _group_for(
            groups, allowance_charge.tax_category, allowance_charge.tax_rate, place=place
        )
        group.amounts.append(_signed_amount(allowance_charge, place=place))

    return [group.subtotal(decimals, mode) for group in groups.values()]


def compute_totals(
    lines: Sequence[InvoiceLine],
    allowances_charges: Sequence[AllowanceCharge],
    tax_subtotals: Sequence[TaxSubtotal],
    currency: str,
    *,
    prepaid: Decimal = Decimal(0),
    rounding_amount: Decimal = Decimal(0),
) -> Totals:
    """Compute the document totals (BG-22) by the EN 16931 rules BR-CO-10 to BR-CO-16.

    ``prepaid`` is the amount already paid (BT-113) and ``rounding_amount`` the cash rounding
    (BT-114). Both are inputs, not results. Every total is an exact sum, as the rules define
    it, shown with at least the currency's minor unit of decimals (0 becomes 0.00).
    """
    decimals = minor_units(currency)

    def total(values: list[Decimal]) -> Decimal:
        return _with_minor_units(exact_sum(values), decimals)

    line_extension = total(
        [to_decimal(line.net_amount, place=f"line {line.line_id} net amount") for line in lines]
    )  # BR-CO-10
    allowance_total = total(
        [to_decimal(item.amount) for item in allowances_charges if not item.is_charge]
    )  # BR-CO-11
    charge_total = total(
        [to_decimal(item.amount) for item in allowances_charges if item.is_charge]
    )  # BR-CO-12
    tax_exclusive = total([line_extension, -allowance_total, charge_total])  # BR-CO-13
    tax_total = total([to_decimal(subtotal.tax_amount) for subtotal in tax_subtotals])  # BR-CO-14
    tax_inclusive = total([tax_exclusive, tax_total])  # BR-CO-15
    prepaid = total([to_decimal(prepaid, place="prepaid amount")])
    rounding_amount = total([to_decimal(rounding_amount, place="rounding amount")])
    payable = total([tax_inclusive, -prepaid, rounding_amount])  # BR-CO-16

    return Totals(
        line_extension=line_extension,
        allowance_total=allowance_total,
        charge_total=charge_total,
        tax_exclusive=tax_exclusive,
        tax_total=tax_total,
        tax_inclusive=tax_inclusive,
        prepaid=prepaid,
        rounding=rounding_amount,
        payable=payable,
    )


def build_document_totals(
    document: InvoiceDocument, *, mode: RoundingMode = RoundingMode.HALF_UP
) -> tuple[list[TaxSubtotal], Totals]:
    """Compute the VAT breakdown and the totals that ``document`` should state.

    The paid amount (BT-113) and the rounding amount (BT-114) are taken from the document's
    own totals, because nothing else on the document determines them.
    """
    tax_subtotals = compute_tax_breakdown(
        document.lines, document.allowances_charges, document.currency, mode
    )
    totals = compute_totals(
        document.lines,
        document.allowances_charges,
        tax_subtotals,
        document.currency,
        prepaid=document.totals.prepaid,
        rounding_amount=document.totals.rounding,
    )
    return tax_subtotals, totals


# Tolerance of the EN 16931 validation rules, the CEN rules that billguard.einvoice.validation
# runs. They accept a difference of less than 1 in the document currency in two places. One is
# the taxable amount (BT-116) of categories S, L and M (BR-S-08, BR-AF-08, BR-AG-08). The other
# is the tax amount (BT-117) at a rate other than 0 (BR-CO-17, BR-S-09, BR-AF-09, BR-AG-09).
# The taxable amounts of the other categories (rule 08 of Z, E, AE, K, G and O) and their tax
# amount of 0 (rule 09) are exact.
BREAKDOWN_TOLERANCE = Decimal(1)
# NOTE: the CEN rules check no taxable amount of split payment (B). Billguard gives it the
# tolerance of category S, because it is the same VAT paid another way.
_TAXABLE_AMOUNT_TOLERANT_CATEGORIES = frozenset({"S", "L", "M", "B"})


def taxable_amount_accepted(category: str, stated: Decimal, computed: Decimal) -> bool:
    """Decide whether a stated VAT category taxable amount (BT-116) passes rule 08 of its
    category, against ``computed``, the sum of its line net amounts, allowances and charges.
    """
    if category.strip().upper() in _TAXABLE_AMOUNT_TOLERANT_CATEGORIES:
        return abs(stated - computed) < BREAKDOWN_TOLERANCE
    return stated == computed


def tax_amount_accepted(rate: Decimal | None, stated: Decimal, computed: Decimal) -> bool:
    """Decide whether a stated VAT category tax amount (BT-117) passes BR-CO-17, against
    ``computed``, the category_tax_amount of the stated taxable amount.

    At rate 0, or without a rate, the tax amount must be 0. The CEN rules compare absolute
    values, and so accept a tax amount of the wrong sign, which this rejects.
    """
    if rate is None or rate == 0:
        return stated == 0
    return abs(stated - computed) < BREAKDOWN_TOLERANCE


def line_net_amount(
    quantity: Decimal,
    unit_price: Decimal,
    price_base_quantity: Decimal,
    allowances_charges: Sequence[AllowanceCharge],
    currency: str,
    mode: RoundingMode = RoundingMode.HALF_UP,
) -> Decimal:
    """Compute a line net amount (BT-131), rounded once to the currency's minor unit.

    Net amount = quantity (BT-129) * net price (BT-146) / price base quantity (BT-149)
    + line charges (BT-141) - line allowances (BT-136). EN 16931 allows two decimals on it
    (BR-DEC-23); Billguard uses the currency's minor unit.

    Raises InvalidInput for a float, and for a price base quantity that is not positive.
    """
    exact = _exact_line_net(quantity, unit_price, price_base_quantity, allowances_charges)
    return round_decimal(exact, minor_units(currency), mode)


def recompute_line_net_amount(
    line: InvoiceLine, currency: str, *, mode: RoundingMode = RoundingMode.HALF_UP
) -> Decimal:
    """Compute the net amount that ``line`` should state, from its quantity and price."""
    return line_net_amount(
        line.quantity,
        line.unit_price,
        line.price_base_quantity,
        line.allowances_charges,
        currency,
        mode,
    )


def line_net_explained_by_rounding(line: InvoiceLine, currency: str) -> bool:
    """Decide whether the net amount that ``line`` states (BT-131) can follow from its quantity,
    net price, price base quantity, allowances and charges by rounding alone.

    Two roundings may separate them. The net amount itself, rounded in any direction, moves
    by less than one minor unit. The seller may also have used a price with more decimals
    than the net price (BT-146) shows. Taken as rounded to its last shown decimal, but to no
    fewer decimals than the currency has, that price moves quantity * price / base quantity
    by up to |quantity| / base quantity * half a unit of that decimal. A difference below the
    sum of the two is accepted.

    Raises InvalidInput as line_net_amount does.
    """
    decimals = minor_units(currency)
    exact = _exact_line_net(
        line.quantity, line.unit_price, line.price_base_quantity, line.allowances_charges
    )
    price_decimals = max(decimals, _decimal_places(line.unit_price))
    half_price_unit = Decimal(5).scaleb(-price_decimals - 1)
    price_rounding = scale_by_ratio(abs(line.quantity), half_price_unit, line.price_base_quantity)
    tolerance = Decimal(1).scaleb(-decimals) + price_rounding
    stated = to_decimal(line.net_amount, place=f"line {line.line_id} net amount")
    return abs(stated - exact) < tolerance


def _exact_line_net(
    quantity: Decimal,
    unit_price: Decimal,
    price_base_quantity: Decimal,
    allowances_charges: Sequence[AllowanceCharge],
) -> Decimal:
    """Compute the line net amount of BR-LIN-04 before rounding."""
    quantity = to_decimal(quantity, place="quantity")
    unit_price = to_decimal(unit_price, place="unit price")
    base_quantity = to_decimal(price_base_quantity, place="price base quantity")
    if base_quantity <= 0:
        raise InvalidInput(
            f"price base quantity {base_quantity} is not positive.",
            place="price base quantity",
            value=price_base_quantity,
            fix="Use the number of units the price is for, such as 1 or 100.",
        )

    gross = scale_by_ratio(quantity, unit_price, base_quantity)
    adjustments = [
        _signed_amount(item, place=f"line {_kind(item)} {index + 1}")
        for index, item in enumerate(allowances_charges)
    ]
    # exact_sum keeps the guard digits of the quotient, so a later rounding is the only one.
    return exact_sum([gross, *adjustments])


def _decimal_places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def parse_tax_category(code: object, *, place: str = "VAT category") -> TaxCategory:
    """Return the TaxCategory of a UNCL 5305 code such as ``S`` or ``AE``."""
    try:
        return TaxCategory(code.strip().upper() if isinstance(code, str) else code)
    except ValueError:
        accepted = ", ".join(category.value for category in TaxCategory)
        raise InvalidInput(
            f"{code!r} is not a VAT category code.",
            place=place,
            value=code,
            fix=f"Use one of the UNCL 5305 codes {accepted}.",
        ) from None


# Categories whose rate is always 0 (BR-Z-05, BR-E-05, BR-AE-05, BR-IC-05, BR-G-05).
_ZERO_RATE_CATEGORIES = frozenset(
    {
        TaxCategory.ZERO_RATED,
        TaxCategory.EXEMPT,
        TaxCategory.REVERSE_CHARGE,
        TaxCategory.INTRA_COMMUNITY,
        TaxCategory.EXPORT,
    }
)


@dataclass
class _TaxGroup:
    category: TaxCategory
    rate: Decimal | None
    amounts: list[Decimal] = field(default_factory=list)
    exemption_reason: str = ""

    def subtotal(self, decimals: int, mode: RoundingMode) -> TaxSubtotal:
        taxable_amount = _with_minor_units(exact_sum(self.amounts), decimals)
        return TaxSubtotal(
            category=self.category.value,
            rate=self.rate,
            taxable_amount=taxable_amount,
            tax_amount=_category_tax(taxable_amount, self.rate, decimals, mode),
            exemption_reason=self.exemption_reason,
        )


def category_tax_amount(
    taxable_amount: Decimal,
    rate: Decimal | None,
    currency: str,
    mode: RoundingMode = RoundingMode.HALF_UP,
) -> Decimal:
    """Compute a VAT category tax amount (BT-117): taxable amount * rate / 100, rounded once
    to the currency's minor unit (BR-CO-17). Without a rate (category O) it is 0."""
    return _category_tax(taxable_amount, rate, minor_units(currency), mode)


def _category_tax(
    taxable_amount: Decimal, rate: Decimal | None, decimals: int, mode: RoundingMode
) -> Decimal:
    if rate is None:
        return round_decimal(Decimal(0), decimals, mode)
    return round_decimal(scale_by_ratio(taxable_amount, rate, 100), decimals, mode)


def _with_minor_units(value: Decimal, decimals: int) -> Decimal:
    """Show ``value`` with at least ``decimals`` decimals, without changing its value."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -decimals:
        return value.quantize(Decimal(1).scaleb(-decimals))
    return value


def _group_for(
    groups: dict[tuple[TaxCategory, Decimal | None], _TaxGroup],
    code: object,
    rate: object,
    *,
    place: str,
) -> _TaxGroup:
    category = parse_tax_category(code, place=f"{place} VAT category")
    checked_rate = _checked_rate(category, rate, place=f"{place} VAT rate")
    # 25, 25.0 and 25.00 are one rate, so the key uses the normalized value.
    key = (category, None if checked_rate is None else checked_rate.normalize())
    if key not in groups:
        groups[key] = _TaxGroup(category, checked_rate)
    return groups[key]


def _checked_rate(category: TaxCategory, rate: object, *, place: str) -> Decimal | None:
    """Rate in percent that ``category`` allows, with the rules of EN 16931."""
    value = None if rate is None else to_decimal(rate, place=place)

    if category is TaxCategory.OUTSIDE_SCOPE:
        # BR-O-05: no rate at all. A stated 0 means the same and is dropped.
        if value is not None and value != 0:
            raise _invalid_rate(value, category, place, "Leave the rate out (BR-O-05).")
        return None

    if category in _ZERO_RATE_CATEGORIES:
        # A missing rate can only mean 0 here, so it is filled in.
        if value is not None and value != 0:
            raise _invalid_rate(value, category, place, "Use the rate 0 for this category.")
        return Decimal(0) if value is None else value

    if value is None:
        raise InvalidInput(
            f"VAT category {category.value} needs a rate, and none was given.",
            place=place,
            value=rate,
            fix="State the rate in percent, such as 19 or 8.875.",
        )
    if category is TaxCategory.STANDARD and value <= 0:
        raise _invalid_rate(
            value, category, place, "Use a rate above 0 (BR-S-05), or category Z or E."
        )
    if value < 0:
        # BR-AF-05 and BR-AG-05: IGIC and IPSI rates are 0 or greater. EN 16931 sets no rate
        # rule for split payment (B), whose rate is the Italian VAT rate, so the same applies.
        raise _invalid_rate(value, category, place, "Use a rate of 0 or more.")
    return value


def _invalid_rate(rate: Decimal, category: TaxCategory, place: str, fix: str) -> InvalidInput:
    return InvalidInput(
        f"VAT rate {rate} is invalid for VAT category {category.value}.",
        place=place,
        value=rate,
        fix=fix,
    )


def _signed_amount(allowance_charge: AllowanceCharge, *, place: str) -> Decimal:
    amount = to_decimal(allowance_charge.amount, place=f"{place} amount")
    return amount if allowance_charge.is_charge else -amount


def _kind(allowance_charge: AllowanceCharge) -> str:
    return "charge" if allowance_charge.is_charge else "allowance"


def build_totals(
    lines: Sequence[InvoiceLine], currency: str, *, mode: RoundingMode = RoundingMode.HALF_UP
) -> tuple[list[TaxSubtotal], Totals]:
    """Return the VAT breakdown and totals of ``lines`` with no document allowances or charges."""
    subtotals = compute_tax_breakdown(lines, (), currency, mode)
    return subtotals, compute_totals(lines, (), subtotals, currency)
