"""Turn the raw fields of a draft invoice (a CSV row or a JSON object) into typed model values.

Every error names the file, the row or object, the column or field, the value and the fix.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from billguard.domain.currencies import is_currency, minor_units
from billguard.domain.errors import InvalidInput
from billguard.domain.invoice import (
    Address,
    DocumentType,
    InvoiceDocument,
    InvoiceLine,
    PartyInfo,
)
from billguard.domain.rounding import RoundingMode, round_decimal
from billguard.domain.tax import build_totals

DOCUMENT_FIELDS = (
    "invoice_ref",
    "currency",
    "issue_date",
    "seller_name",
    "seller_tax_id",
    "buyer_name",
    "buyer_tax_id",
    "buyer_country",
    "customer_po",
    "contract_ref",
)
LINE_FIELDS = (
    "period_start",
    "period_end",
    "line_id",
    "item_id",
    "description",
    "quantity",
    "unit_code",
    "unit_price",
    "net_amount",
    "tax_category",
    "tax_rate",
    "exemption_reason",
    "gl_account",
)
REQUIRED_DOCUMENT_FIELDS = ("invoice_ref", "currency", "seller_name", "buyer_name")
REQUIRED_LINE_FIELDS = ("description", "quantity", "unit_price", "tax_category")

# UN/ECE Recommendation 20 code C62, "one": the unit when a draft gives none.
DEFAULT_UNIT_CODE = "C62"

# VAT category codes of EN 16931 (UNCL 5305 subset, BT-151).
VAT_CATEGORIES = ("S", "Z", "E", "AE", "K", "G", "O", "L", "M", "B")
# The rate of these categories is 0 (BR-Z-05, BR-E-05, BR-AE-05, BR-IC-05, BR-G-05).
ZERO_RATE_CATEGORIES = frozenset({"Z", "E", "AE", "K", "G"})
# Categories whose VAT breakdown must not have an exemption reason, with the rule that requires it.
NO_EXEMPTION_RULES = {"S": "BR-S-10", "Z": "BR-Z-10", "L": "BR-AF-10", "M": "BR-AG-10"}

# Bounds of a number in a draft: a product of two such numbers, such as quantity times price,
# still fits the 28 significant digits of Python's default decimal context.
MAX_INTEGER_DIGITS = 12
MAX_DECIMALS = 10

# Digits with an optional sign and decimal point; no exponent, no thousands separator.
_PLAIN_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_COUNTRY_CODE = re.compile(r"[A-Z]{2}")


@dataclass
class DraftRecord:
    """The raw fields of one CSV row or JSON object and the place each field came from.

    ``location`` names the row or object, such as "drafts.csv, row 7". ``origins`` overrides it
    for fields taken from another row, which happens when the rows of one invoice are merged.
    """

    values: Mapping[str, object]
    location: str
    field_label: str  # "column" for CSV, "field" for JSON
    origins: dict[str, str] = field(default_factory=dict)

    def place(self, name: str) -> str:
        return f"{self.origins.get(name, self.location)}, {self.field_label} {name}"

    def text(self, name: str) -> str:
        """Return the field as stripped text; a missing field or JSON null is empty."""
        value = self.values.get(name)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise InvalidInput(
                f"{value!r} is neither a string nor a number.",
                place=self.place(name),
                value=value,
                fix="Write a string or a number.",
            )
        if isinstance(value, Decimal):
            return format(value, "f")
        return str(value).strip()


def build_document(
    header: DraftRecord, line_records: list[DraftRecord], source: str
) -> InvoiceDocument:
    """Build a draft invoice from its document fields and its lines, computing its totals.

    The invoice period (BT-73, BT-74) is the one in ``header`` if given, otherwise it spans the
    line periods.
    """
    currency = _parse_currency(header, "currency")
    lines = [
        _parse_line(record, currency, position)
        for position, record in enumerate(line_records, start=1)
    ]
    tax_subtotals, totals = build_totals(lines, currency)
    period_start = _parse_date(header, "period_start") or _earliest(
        [line.service_start for line in lines]
    )
    period_end = _parse_date(header, "period_end") or _latest([line.service_end for line in lines])
    return InvoiceDocument(
        document_type=DocumentType.INVOICE,
        number=_required_text(header, "invoice_ref"),
        issue_date=_parse_date(header, "issue_date"),
        currency=currency,
        seller=PartyInfo(
            name=_required_text(header, "seller_name"), tax_id=header.text("seller_tax_id")
        ),
        buyer=PartyInfo(
            name=_required_text(header, "buyer_name"),
            tax_id=header.text("buyer_tax_id"),
            address=Address(country=_parse_country(header, "buyer_country")),
        ),
        lines=lines,
        tax_subtotals=tax_subtotals,
        totals=totals,
        order_reference=header.text("customer_po"),
        contract_reference=header.text("contract_ref"),
        period_start=period_start,
        period_end=period_end,
        source=source,
    )


def _parse_line(record: DraftRecord, currency: str, position: int) -> InvoiceLine:
    """Parse one line; ``position`` (from 1) is its line_id when the field is empty."""
    quantity = _required_decimal(record, "quantity")
    unit_price = _required_decimal(record, "unit_price")
    if unit_price < 0:
        raise InvalidInput(
            f"{record.text('unit_price')!r} is negative, but an item price cannot be (BR-27).",
            place=record.place("unit_price"),
            value=record.text("unit_price"),
            fix="Write the price without sign and put the minus sign on the quantity.",
        )
    net_amount = _net_amount(record, currency, quantity, unit_price)
    category, rate = _vat_category_and_rate(record)
    exemption_reason = _exemption_reason(record, category)
    service_start = _parse_date(record, "period_start")
    service_end = _parse_date(record, "period_end")
    if service_start and service_end and service_end < service_start:
        raise InvalidInput(
            f"the period ends on {service_end}, before it starts on {service_start}.",
            place=record.place("period_end"),
            value=record.text("period_end"),
            fix="Swap the two dates or correct the end date.",
        )

    return InvoiceLine(
        line_id=record.text("line_id") or str(position),
        description=_required_text(record, "description"),
        quantity=quantity,
        unit_code=record.text("unit_code") or DEFAULT_UNIT_CODE,
        unit_price=unit_price,
        net_amount=net_amount,
        tax_category=category,
        tax_rate=rate,
        exemption_reason=exemption_reason,
        item_id=record.text("item_id"),
        gl_account=record.text("gl_account"),
        service_start=service_start,
        service_end=service_end,
    )


def _parse_currency(record: DraftRecord, name: str) -> str:
    code = _required_text(record, name)
    if not is_currency(code):
        raise InvalidInput(
            f"{code!r} is not an ISO 4217 currency code.",
            place=record.place(name),
            value=code,
            fix="Use a three-letter code in capitals, such as EUR, USD or JPY.",
        )
    return code


def _parse_date(record: DraftRecord, name: str) -> dt.date | None:
    text = record.text(name)
    if not text:
        return None
    parsed = None
    if _ISO_DATE.fullmatch(text):
        try:
            parsed = dt.date.fromisoformat(text)
        except ValueError:
            parsed = None
    if parsed is None:
        raise InvalidInput(
            f"{text!r} is not a date.",
            place=record.place(name),
            value=text,
            fix="Write a calendar date as YYYY-MM-DD, such as 2024-03-31.",
        )
    return parsed


def _parse_decimal(record: DraftRecord, name: str) -> Decimal | None:
    value = record.values.get(name)
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        # A JSON number, read as Decimal or int so that no float rounding happens.
        return _in_range(Decimal(value), record, name)
    text = record.text(name)
    if not text:
        return None
    if not _PLAIN_DECIMAL.fullmatch(text):
        raise InvalidInput(
            f"{text!r} is not a number.",
            place=record.place(name),
            value=text,
            fix="Write it with a decimal point and no thousands separator, such as 12.50.",
        )
    return _in_range(Decimal(text), record, name)


def _in_range(number: Decimal, record: DraftRecord, name: str) -> Decimal:
    """Reject a number that the 28-digit decimal arithmetic of the totals cannot hold."""
    if number and number.adjusted() >= MAX_INTEGER_DIGITS:
        raise InvalidInput(
            f"{number} has more than {MAX_INTEGER_DIGITS} digits before the decimal point.",
            place=record.place(name),
            value=str(number),
            fix="Check the value; no price, quantity or amount is that large.",
        )
    if number.as_tuple().exponent < -MAX_DECIMALS:  # type: ignore[operator]
        raise InvalidInput(
            f"{number} has more than {MAX_DECIMALS} decimals.",
            place=record.place(name),
            value=str(number),
            fix=f"Round it to {MAX_DECIMALS} decimals at most.",
        )
    return number


def _required_text(record: DraftRecord, name: str) -> str:
    text = record.text(name)
    if not text:
        raise InvalidInput(
            f"{name} is missing, but every draft needs it.",
            place=record.place(name),
            fix=f"Fill in {name}.",
        )
    return text


def _required_decimal(record: DraftRecord, name: str) -> Decimal:
    number = _parse_decimal(record, name)
    if number is None:
        raise InvalidInput(
            f"{name} is missing, but every line needs it.",
            place=record.place(name),
            fix=f"Fill in {name}, such as 1 or 12.50.",
        )
    return number


def _net_amount(
    record: DraftRecord, currency: str, quantity: Decimal, unit_price: Decimal
) -> Decimal:
    """Return the line net amount (BT-131): as given, or quantity * unit_price rounded HALF_UP."""
    decimals = minor_units(currency)
    stated_amount = _parse_decimal(record, "net_amount")
    if stated_amount is None:
        return round_decimal(quantity * unit_price, decimals, RoundingMode.HALF_UP)
    if round_decimal(stated_amount, decimals, RoundingMode.HALF_UP) != stated_amount:
        raise InvalidInput(
            f"{record.text('net_amount')!r} has more decimals than {currency} has ({decimals}).",
            place=record.place("net_amount"),
            value=record.text("net_amount"),
            fix=f"Round the amount to {decimals} decimals, or leave it empty to have it "
            "computed from quantity and unit_price.",
        )
    return stated_amount


def _vat_category_and_rate(record: DraftRecord) -> tuple[str, Decimal | None]:
    category = _required_text(record, "tax_category").upper()
    if category not in VAT_CATEGORIES:
        raise InvalidInput(
            f"{record.text('tax_category')!r} is not a VAT category code.",
            place=record.place("tax_category"),
            value=record.text("tax_category"),
            fix=f"Use one of {', '.join(VAT_CATEGORIES)} (UNCL 5305, as EN 16931 uses them).",
        )
    rate = _parse_decimal(record, "tax_rate")
    text = record.text("tax_rate")
    if category == "O":
        if rate is not None:
            raise InvalidInput(
                f"{text!r} is a VAT rate, but category O (not subject to VAT) has none (BR-O-05).",
                place=record.place("tax_rate"),
                value=text,
                fix="Leave tax_rate empty for category O.",
            )
        return category, None
    if category in ZERO_RATE_CATEGORIES:
        if rate is None:
            return category, Decimal(0)
        if rate != 0:
            raise InvalidInput(
                f"{text!r} is not 0, but VAT category {category} has the rate 0.",
                place=record.place("tax_rate"),
                value=text,
                fix="Write 0, or use category S for a taxed line.",
            )
        return category, rate
    if rate is None:
        raise InvalidInput(
            f"tax_rate is empty, but VAT category {category} needs a rate.",
            place=record.place("tax_rate"),
            fix="Write the rate in percent, such as 19.",
        )
    if rate < 0 or (category == "S" and rate == 0):
        raise InvalidInput(
            f"{text!r} is not a valid rate for VAT category {category}.",
            place=record.place("tax_rate"),
            value=text,
            fix="Write the rate in percent and above 0, such as 19 (BR-S-05); use category Z "
            "for a zero-rated line.",
        )
    return category, rate


def _exemption_reason(record: DraftRecord, category: str) -> str:
    reason = record.text("exemption_reason")
    if category == "E" and not reason:
        raise InvalidInput(
            "exemption_reason is empty, but a VAT exempt line (category E) needs one (BR-E-10).",
            place=record.place("exemption_reason"),
            fix="Write the legal reason, such as: Exempt under Article 135(1) of Directive "
            "2006/112/EC.",
        )
    if category in NO_EXEMPTION_RULES and reason:
        raise InvalidInput(
            f"{reason!r} is an exemption reason, but VAT category {category} has none "
            f"({NO_EXEMPTION_RULES[category]}).",
            place=record.place("exemption_reason"),
            value=reason,
            fix="Leave exemption_reason empty, or use the category that the reason applies to.",
        )
    return reason


def _parse_country(record: DraftRecord, name: str) -> str:
    code = record.text(name)
    if code and not _COUNTRY_CODE.fullmatch(code):
        raise InvalidInput(
            f"{code!r} is not an ISO 3166-1 alpha-2 country code.",
            place=record.place(name),
            value=code,
            fix="Use two capital letters, such as DE, FR or US.",
        )
    return code


def _earliest(dates: list[dt.date | None]) -> dt.date | None:
    known = [date for date in dates if date is not None]
    return min(known) if known else None


def _latest(dates: list[dt.date | None]) -> dt.date | None:
    known = [date for date in dates if date is not None]
    return max(known) if known else None
