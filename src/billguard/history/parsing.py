"""Parse and validate the rows of an invoice, credit note or payment file.

One file row is one invoice line, and the document fields (number, customer, dates,
currency, memo or reference) repeat on each line of the document. Every row is checked and
every problem is collected with its file, row, column, value and fix, so one pass reports
them all. The loop over invoice lines is the hot path of an import (a million rows in a few
seconds), so it works on plain tuples and caches what repeats (dates, currencies).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

from billguard.domain.currencies import is_currency, minor_units
from billguard.domain.errors import BillguardError, InvalidInput
from billguard.history.layouts import CREDIT_NOTES, XERO, Layout
from billguard.history.reading import Sheet

# Positions in a parsed line tuple.
ROW: Final = 0
ITEM: Final = 1
DESCRIPTION: Final = 2
QUANTITY: Final = 3
UNIT_PRICE: Final = 4
NET: Final = 5
TAX_CODE: Final = 6
TAX: Final = 7
DISCOUNT: Final = 8
ACCOUNT: Final = 9
SERVICE: Final = 10
ParsedLine = tuple[
    int, str, str, Decimal, Decimal, Decimal, str, Decimal, Decimal | None, str, dt.date | None
]

# The document fields, in the order of the tuple compared between the lines of a document.
_DOCUMENT_FIELDS = (
    "customer",
    "issue_date",
    "due_date",
    "reference",
    "currency",
    "total",
    "tax_total",
    "balance",
)
_ONE = Decimal(1)
_HUNDRED = Decimal(100)
_ZERO = Decimal(0)
_THOUSANDS = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d+)?")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_SLASH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


@dataclass(slots=True)
class ParsedDocument:
    """An invoice or credit note as the file states it, before resolution."""

    kind: str
    number: str
    customer: str
    issue_date: dt.date
    due_date: dt.date | None
    reference: str
    currency: str
    first_row: int
    total_given: Decimal | None
    tax_total_given: Decimal | None
    balance: Decimal | None
    raw_fields: tuple[str, ...]
    lines: list[ParsedLine] = field(default_factory=list)
    raw_rows: list[str] = field(default_factory=list)
    line_extension: Decimal = _ZERO
    tax_total: Decimal = _ZERO

    @property
    def total(self) -> Decimal:
        return self.line_extension + self.tax_total

    def raw_digest(self) -> bytes:
        return hashlib.sha256("\x1e".join(self.raw_rows).encode()).digest()


@dataclass(slots=True)
class ParsedPayment:
    payment_id: str
    customer: str
    received_on: dt.date
    currency: str
    reference: str
    first_row: int
    raw_fields: tuple[str, ...]
    # (row, invoice number or "" for an amount not applied to an invoice, amount)
    allocations: list[tuple[int, str, Decimal]] = field(default_factory=list)
    raw_rows: list[str] = field(default_factory=list)

    @property
    def amount(self) -> Decimal:
        return sum((amount for _, _, amount in self.allocations), _ZERO)


class Problems:
    """The problems of one file, each with its place (file, row, column), value and fix."""

    def __init__(self, sheet: Sheet, headers: dict[str, str]) -> None:
        self.file = sheet.name
        self.headers = headers
        self.items: list[BillguardError] = []

    def add(self, row: int, field_name: str, value: object, message: str, fix: str) -> None:
        column = self.headers.get(field_name, field_name)
        self.items.append(
            InvalidInput(
                message,
                place=f"{self.file}, row {row}, column {column}",
                value=value,
                fix=fix,
            )
        )


def column_index(sheet: Sheet, layout: Layout, problems: list[BillguardError]) -> dict[str, int]:
    """Map each field of ``layout`` to its column, and report missing mandatory columns."""
    positions: dict[str, int] = {}
    from billguard.history.layouts import normalize_header

    normalized = [normalize_header(cell) for cell in sheet.header]
    for column in layout.columns:
        found = next((i for i, name in enumerate(normalized) if name in column.headers), None)
        if found is not None:
            positions[column.field] = found
        elif column.required:
            problems.append(
                InvalidInput(
                    f"the {layout.label} has no {column.label} column.",
                    place=f"{sheet.name}, row 1",
                    value=", ".join(sheet.header),
                    fix=f"Add the column {column.label} to the header row, spelled as "
                    "docs/history.md lists it.",
                )
            )
    return positions


def parse_documents(
    sheet: Sheet,
    layout: Layout,
    *,
    date_order: str,
    default_currency: str | None,
    problems_out: list[BillguardError],
) -> dict[str, ParsedDocument]:
    """Read every row of an invoice or credit note file into documents keyed by number."""
    index = column_index(sheet, layout, problems_out)
    if len(problems_out) and any(f"{sheet.name}, row 1" == p.place for p in problems_out):
        return {}
    headers = {name: sheet.header[i].strip() for name, i in index.items()}
    problems = Problems(sheet, headers)
    width = len(sheet.header)
    # A field the file lacks reads the empty cell appended at position ``width``.
    i_number = index["number"]
    doc_positions = [index.get(name, width) for name in _DOCUMENT_FIELDS]
    i_item = index.get("item_code", width)
    i_description = index.get("description", width)
    i_quantity = index.get("quantity", width)
    i_price = index.get("unit_price", width)
    i_discount = index.get("discount_percent", width)
    i_net = index.get("net_amount", width)
    i_tax_code = index.get("tax_code", width)
    i_tax = index.get("tax_amount", width)
    i_account = index.get("account_code", width)
    i_service = index.get("service_date", width)
    is_xero_pricing = layout.system == XERO

    kind = "credit_note" if layout.kind == CREDIT_NOTES else "invoice"
    parse_date = date_parser(date_order)
    documents: dict[str, ParsedDocument] = {}
    units: dict[str, tuple[int, Decimal]] = {}

    for row_number, row in sheet.rows:
        if len(row) != width:
            # Short rows read as empty cells, and cells past the header are ignored.
            row = (row + [""] * width)[:width]
        row.append("")
        number = row[i_number].strip()
        if not number:
            problems.add(
                row_number, "number", "", "the document number is empty.",
                "Write the invoice or credit note number on every line of the document.",
            )  # fmt: skip
            continue
        raw_fields = tuple([row[i] for i in doc_positions])
        document = documents.get(number)
        if document is None:
            document = _new_document(
                kind, number, raw_fields, row_number, problems,
                parse_date=parse_date, default_currency=default_currency,
            )  # fmt: skip
            if document is None:
                continue
            documents[number] = document
        elif raw_fields != document.raw_fields:
            _report_differences(document, raw_fields, row_number, problems)

        currency = document.currency
        unit = units.get(currency)
        if unit is None:
            decimals = minor_units(currency) if is_currency(currency) else 2
            unit = (decimals, Decimal(1).scaleb(-decimals))
            units[currency] = unit
        decimals, smallest = unit

        quantity_text = row[i_quantity].strip()
        price_text = row[i_price].strip()
        net_text = row[i_net].strip()
        quantity = _number(quantity_text, row_number, "quantity", problems, default=_ONE)
        unit_price = _number(price_text, row_number, "unit_price", problems, default=None)
        net = _number(net_text, row_number, "net_amount", problems, default=None)
        discount = None
        discount_text = row[i_discount].strip()
        if discount_text:
            discount = _number(discount_text, row_number, "discount_percent", problems)
            if discount is not None and not _ZERO <= discount <= _HUNDRED:
                problems.add(
                    row_number, "discount_percent", discount_text,
                    f"the discount {discount_text} is not a percentage from 0 to 100.",
                    "Write the discount as a percentage, such as 10 for 10 %.",
                )  # fmt: skip
                discount = None
        tax_text = row[i_tax].strip()
        tax = _number(tax_text, row_number, "tax_amount", problems, default=_ZERO)
        if quantity is None or tax is None:
            continue

        if is_xero_pricing:
            if unit_price is None:
                if not price_text:
                    problems.add(
                        row_number, "unit_price", "", "the unit amount is empty.",
                        "Write the line's unit price (0 for a free line).",
                    )  # fmt: skip
                continue
            expected = quantity * unit_price
            if discount:
                expected = expected * (_HUNDRED - discount) / _HUNDRED
            if net is None:
                if net_text:
                    continue
                net = expected.quantize(smallest, rounding=ROUND_HALF_UP)
        else:
            if net is None:
                if not net_text:
                    problems.add(
                        row_number, "net_amount", "", "the item amount is empty.",
                        "Write the line amount (quantity times rate) in ItemAmount.",
                    )  # fmt: skip
                continue
            if unit_price is None:
                if price_text:
                    continue
                # QuickBooks Online allows a line with only an amount: the rate is then the
                # amount per unit, to the six decimals a unit price is stored with.
                unit_price = net
                if quantity not in (_ONE, _ZERO):
                    unit_price = (net / quantity).quantize(Decimal("0.000001"))
            expected = quantity * unit_price

        difference = expected - net
        if difference > smallest or difference < -smallest:
            problems.add(
                row_number, "net_amount", net_text or str(net),
                f"the line amount {net} is not quantity {quantity} times rate {unit_price}"
                + (f" less {discount} %" if discount else "")
                + f" = {expected.normalize():f} (rounded to {smallest}).",
                "Correct the quantity, rate or amount so that the amount is their product, "
                f"rounded to {decimals} decimals.",
            )  # fmt: skip
            continue
        if _too_precise(net_text, decimals) or _too_precise(tax_text, decimals):
            text = net_text if _too_precise(net_text, decimals) else tax_text
            name = "net_amount" if text == net_text else "tax_amount"
            problems.add(
                row_number, name, text,
                f"{text} has more decimals than {currency} has ({decimals}, ISO 4217).",
                f"Round the amount to {decimals} decimals.",
            )  # fmt: skip
            continue

        service_text = row[i_service].strip()
        service_date = None
        if service_text:
            service_date = parse_date(service_text)
            if service_date is None:
                _bad_date(problems, row_number, "service_date", service_text, date_order)
                continue

        document.lines.append(
            (
                row_number,
                row[i_item].strip(),
                row[i_description].strip(),
                quantity,
                unit_price,
                net,
                row[i_tax_code].strip(),
                tax,
                discount,
                row[i_account].strip(),
                service_date,
            )
        )
        document.raw_rows.append("\x1f".join(row))
        document.line_extension += net
        document.tax_total += tax

    for document in documents.values():
        _check_totals(document, problems)
    problems_out.extend(problems.items)
    return documents


def _new_document(
    kind: str,
    number: str,
    raw: tuple[str, ...],
    row: int,
    problems: Problems,
    *,
    parse_date: Callable[[str], dt.date | None],
    default_currency: str | None,
) -> ParsedDocument | None:
    customer, issue_text, due_text, reference, currency_text, total, tax_total, balance = (
        value.strip() for value in raw
    )
    count = len(problems.items)
    if not customer:
        problems.add(
            row, "customer", "", "the customer is empty.",
            "Write the customer's name (or code) as the accounting system shows it.",
        )  # fmt: skip
    issue_date = parse_date(issue_text)
    if issue_date is None:
        _bad_date(problems, row, "issue_date", issue_text, None)
    due_date = parse_date(due_text) if due_text else None
    if due_text and due_date is None:
        _bad_date(problems, row, "due_date", due_text, None)
    elif due_date and issue_date and due_date < issue_date:
        problems.add(
            row, "due_date", due_text, f"the due date {due_date} is before the date {issue_date}.",
            "Check the two dates; the date order (day or month first) may be the wrong one.",
        )  # fmt: skip
    currency = currency_text.upper() or (default_currency or "")
    if not currency:
        problems.add(
            row, "currency", "", "the currency is empty.",
            "Add a Currency column, or give the home currency with --currency.",
        )  # fmt: skip
    elif not is_currency(currency):
        problems.add(
            row, "currency", currency_text, f"{currency_text!r} is not an ISO 4217 currency code.",
            "Use a three-letter code such as EUR, USD or GBP.",
        )  # fmt: skip
    given = [
        _number(text, row, name, problems) if text else None
        for text, name in ((total, "total"), (tax_total, "tax_total"), (balance, "balance"))
    ]
    if len(problems.items) > count or issue_date is None:
        return None
    return ParsedDocument(
        kind=kind,
        number=number,
        customer=customer,
        issue_date=issue_date,
        due_date=due_date,
        reference=reference,
        currency=currency,
        first_row=row,
        total_given=given[0],
        tax_total_given=given[1],
        balance=given[2],
        raw_fields=raw,
    )


def _report_differences(
    document: ParsedDocument, raw: tuple[str, ...], row: int, problems: Problems
) -> None:
    for name, first, value in zip(_DOCUMENT_FIELDS, document.raw_fields, raw, strict=True):
        if first.strip() != value.strip():
            problems.add(
                row, name, value,
                f"{document.number} has {first!r} on row {document.first_row} "
                f"and {value!r} on this row.",
                "Repeat the same document fields on every line of one document.",
            )  # fmt: skip


def _check_totals(document: ParsedDocument, problems: Problems) -> None:
    if not document.lines:
        return
    row = document.first_row
    if document.total_given is not None and document.total_given != document.total:
        problems.add(
            row, "total", str(document.total_given),
            f"the total {document.total_given} of {document.number} is not the sum of its "
            f"lines and tax, {document.total}.",
            "Export the document again, or correct the lines or the total.",
        )  # fmt: skip
    if document.tax_total_given is not None and document.tax_total_given != document.tax_total:
        problems.add(
            row, "tax_total", str(document.tax_total_given),
            f"the tax total {document.tax_total_given} of {document.number} is not the sum of "
            f"its lines' tax, {document.tax_total}.",
            "Export the document again, or correct the lines' tax or the tax total.",
        )  # fmt: skip
    if document.total < 0:
        advice = (
            "Write a credit note's amounts as positive numbers, as Xero and QuickBooks Online do."
            if document.kind == "credit_note"
            else "Export a negative invoice as a credit note (credit memo) instead."
        )
        problems.add(
            row, "net_amount", str(document.total),
            f"the total of {document.number} is negative ({document.total}).", advice,
        )  # fmt: skip


def parse_payments(
    sheet: Sheet,
    layout: Layout,
    *,
    date_order: str,
    default_currency: str | None,
    problems_out: list[BillguardError],
) -> dict[str, ParsedPayment]:
    """Read a payment file into payments keyed by the source's payment id."""
    index = column_index(sheet, layout, problems_out)
    if any(f"{sheet.name}, row 1" == p.place for p in problems_out):
        return {}
    headers = {name: sheet.header[i].strip() for name, i in index.items()}
    problems = Problems(sheet, headers)
    width = len(sheet.header)
    fields = ("customer", "received_on", "currency", "reference")
    positions = [index.get(name, width) for name in fields]
    i_id = index["payment_id"]
    i_invoice = index.get("invoice_number", width)
    i_amount = index["amount"]
    parse_date = date_parser(date_order)
    payments: dict[str, ParsedPayment] = {}

    for row_number, row in sheet.rows:
        if len(row) != width:
            # Short rows read as empty cells, and cells past the header are ignored.
            row = (row + [""] * width)[:width]
        row.append("")
        payment_id = row[i_id].strip()
        if not payment_id:
            problems.add(
                row_number, "payment_id", "", "the payment id is empty.",
                "Write the payment's id or reference number on every row of the payment.",
            )  # fmt: skip
            continue
        raw = tuple([row[i].strip() for i in positions])
        amount_text = row[i_amount].strip()
        amount = _number(amount_text, row_number, "amount", problems, default=None)
        if amount is None:
            if not amount_text:
                problems.add(
                    row_number, "amount", "", "the amount is empty.", "Write the amount paid."
                )
            continue
        payment = payments.get(payment_id)
        if payment is None:
            customer, date_text, currency_text, reference = raw
            received_on = parse_date(date_text)
            if received_on is None:
                _bad_date(problems, row_number, "received_on", date_text, date_order)
                continue
            currency = currency_text.upper() or (default_currency or "")
            if currency and not is_currency(currency):
                problems.add(
                    row_number, "currency", currency_text,
                    f"{currency_text!r} is not an ISO 4217 currency code.",
                    "Use a three-letter code such as EUR, USD or GBP.",
                )  # fmt: skip
                continue
            payment = ParsedPayment(
                payment_id, customer, received_on, currency, reference, row_number, raw
            )
            payments[payment_id] = payment
        elif raw != payment.raw_fields:
            for name, first, value in zip(fields, payment.raw_fields, raw, strict=True):
                if first != value:
                    problems.add(
                        row_number, name, value,
                        f"payment {payment_id} has {first!r} on row {payment.first_row} and "
                        f"{value!r} on this row.",
                        "Repeat the same payment fields on every row of one payment.",
                    )  # fmt: skip
            continue
        if payment.currency and _too_precise(amount_text, minor_units(payment.currency)):
            problems.add(
                row_number, "amount", amount_text,
                f"{amount_text} has more decimals than {payment.currency} has "
                f"({minor_units(payment.currency)}, ISO 4217).",
                "Round the amount to the currency's decimals.",
            )  # fmt: skip
            continue
        if amount <= 0:
            problems.add(
                row_number, "amount", amount_text,
                f"the amount paid {amount_text} is not positive.",
                "Write the amount received as a positive number.",
            )  # fmt: skip
            continue
        payment.allocations.append((row_number, row[i_invoice].strip(), amount))
        payment.raw_rows.append("\x1f".join(row))

    problems_out.extend(problems.items)
    return payments


def _number(
    text: str, row: int, name: str, problems: Problems, *, default: Decimal | None = None
) -> Decimal | None:
    if not text:
        return default
    try:
        value: Decimal | None = Decimal(text)
    except InvalidOperation:
        value = _number_with_separators(text)
        if value is None:
            problems.add(
                row, name, text, f"{text!r} is not a number.",
                "Write a plain number with a dot for decimals, such as 1234.50, without a "
                "currency sign.",
            )  # fmt: skip
            return None
    if value is None or not value.is_finite():
        problems.add(row, name, text, f"{text!r} is not a number.", "Write a finite number.")
        return None
    return value


def _number_with_separators(text: str) -> Decimal | None:
    """Read 1,234.50: commas only as thousands separators, in groups of three digits."""
    if _THOUSANDS.fullmatch(text):
        return Decimal(text.replace(",", ""))
    return None


def _too_precise(text: str, decimals: int) -> bool:
    """Return whether ``text`` has non-zero digits past the currency's minor units."""
    dot = text.find(".")
    if dot < 0 or len(text) - dot - 1 <= decimals:
        return False
    return text[dot + 1 + decimals :].strip("0") != "" if "e" not in text.lower() else False


def date_parser(order: str) -> Callable[[str], dt.date | None]:
    """Return a cached parser of ISO dates and of slash dates in ``order`` (mdy or dmy)."""
    cache: dict[str, dt.date | None] = {}

    def parse(text: str) -> dt.date | None:
        try:
            return cache[text]
        except KeyError:
            pass
        value = _parse_date(text.strip(), order)
        cache[text] = value
        return value

    return parse


def _parse_date(text: str, order: str) -> dt.date | None:
    try:
        if match := _ISO_DATE.fullmatch(text):
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        if match := _SLASH_DATE.fullmatch(text):
            first, second = int(match[1]), int(match[2])
            month, day = (first, second) if order == "mdy" else (second, first)
            return dt.date(int(match[3]), month, day)
        # Xero's exports also write "31 Dec 2026".
        return dt.datetime.strptime(text, "%d %b %Y").date()  # noqa: DTZ007
    except ValueError:
        return None


def _bad_date(problems: Problems, row: int, name: str, text: str, order: str | None) -> None:
    if not text:
        problems.add(row, name, "", "the date is empty.", "Write the date.")
        return
    problems.add(
        row, name, text, f"{text!r} is not a valid date.",
        "Write the date as YYYY-MM-DD, or as the system exports it: MM/DD/YYYY for "
        "QuickBooks Online, DD/MM/YYYY for Xero (--date-order changes the order).",
    )  # fmt: skip
