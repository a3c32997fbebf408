"""Read vendor invoices from the Billguard CSV layout, or one from a JSON object.

CSV layout
----------
UTF-8 text (a byte order mark is allowed), separated by commas, or by semicolons when the
header row has semicolons and no comma. The first row names the columns, in any order; an
unknown column is an error, so that a misspelled name is not ignored. Every further row is
one invoice line, and the rows with the same vendor and invoice_number form one invoice.
Invoice columns are given on the invoice's first row; later rows repeat them or leave them
empty, and a different value is an error.

Invoice columns:

    vendor          required; the vendor's party code
    purchase_order  required; our purchase order number
    invoice_number  required; as printed by the vendor
    issue_date      required; YYYY-MM-DD
    due_date        YYYY-MM-DD
    currency        required; ISO 4217 code such as EUR
    seller_entity   code of our entity the invoice is to; the order's entity if empty
    payee_iban      the account the vendor asks to be paid to
    net_total       required; the sum of the line amounts
    tax_total       required; VAT or sales tax, 0 if none
    gross_total     required; net_total plus tax_total

Line columns:

    line_number     the line's number on the invoice; its position if empty
    order_line      required; the purchase order line number it bills
    description     what was billed
    quantity        required; more than zero, at most 4 decimals
    unit_code       UN/ECE Recommendation 20 code; C62 ("one") if empty
    unit_price      required; net price per unit, at most 6 decimals
    line_net        required; quantity times unit_price to the cent

Numbers have a decimal point and no thousands separator (1250.00). The header is row 1, as
in a spreadsheet, so an error's row number is the spreadsheet's.

JSON
----
One object with the invoice columns as fields and ``lines``, a list of objects with the line
columns. Numbers may be JSON numbers or strings; both are read as Decimal, never as float.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from billguard.domain.errors import BillguardError, InvalidInput
from billguard.einvoice.errors import UnreadableDocument
from billguard.integrations.json_input import json_load
from billguard.procurement.vendor_invoice_input import (
    VendorInvoiceInput,
    VendorInvoiceInvalid,
    VendorInvoiceLineInput,
)
from billguard.procurement.vendor_invoice_validation import arithmetic_problems

INVOICE_COLUMNS = (
    "vendor",
    "purchase_order",
    "invoice_number",
    "issue_date",
    "due_date",
    "currency",
    "seller_entity",
    "payee_iban",
    "net_total",
    "tax_total",
    "gross_total",
)
LINE_COLUMNS = (
    "line_number",
    "order_line",
    "description",
    "quantity",
    "unit_code",
    "unit_price",
    "line_net",
)
REQUIRED_COLUMNS = (
    "vendor",
    "purchase_order",
    "invoice_number",
    "issue_date",
    "currency",
    "net_total",
    "tax_total",
    "gross_total",
    "order_line",
    "quantity",
    "unit_price",
    "line_net",
)
# The input field each column fills, where the names differ.
FIELD_OF_COLUMN = {
    "invoice_number": "number",
    "net_total": "net_amount",
    "tax_total": "tax_amount",
    "gross_total": "gross_amount",
    "line_net": "net_amount",
}
# xs:decimal: digits with an optional sign and decimal point, no exponent or separators.
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class _Cells:
    """The values of one CSV row or JSON object, read with errors naming their place."""

    values: Mapping[str, object]
    place: Callable[[str], str]
    problems: list[BillguardError]

    def text(self, name: str) -> str:
        value = self.values.get(name)
        return "" if value is None else str(value).strip()

    def required_text(self, name: str) -> str:
        text = self.text(name)
        if not text:
            self._missing(name)
        return text

    def decimal(self, name: str, *, required: bool = True) -> Decimal | None:
        raw = self.values.get(name)
        text = self.text(name)
        if not text:
            if required:
                self._missing(name)
            return None
        if isinstance(raw, (Decimal, int)) and not isinstance(raw, bool):
            return Decimal(raw)
        if not _DECIMAL.fullmatch(text):
            self.problems.append(
                InvalidInput(
                    f"{text!r} is not a number.",
                    place=self.place(name),
                    value=text,
                    fix="Write it with digits and a decimal point, without thousands "
                    "separators, such as 1250.00.",
                )
            )
            return None
        try:
            return Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
            return None

    def integer(self, name: str, *, required: bool = True) -> int | None:
        text = self.text(name)
        if not text:
            if required:
                self._missing(name)
            return None
        if not (text.isascii() and text.isdigit()) or int(text) < 1:
            self.problems.append(
                InvalidInput(
                    f"{text!r} is not a whole number of 1 or more.",
                    place=self.place(name),
                    value=text,
                    fix="Give the line number as printed, such as 1 or 2.",
                )
            )
            return None
        return int(text)

    def date(self, name: str, *, required: bool = True) -> dt.date | None:
        text = self.text(name)
        if not text:
            if required:
                self._missing(name)
            return None
        parsed = None
        if _DATE.fullmatch(text):
            try:
                parsed = dt.date.fromisoformat(text)
            except ValueError:
                parsed = None
        if parsed is None:
            self.problems.append(
                InvalidInput(
                    f"{text!r} is not a date.",
                    place=self.place(name),
                    value=text,
                    fix="Write it as YYYY-MM-DD, such as 2026-10-31.",
                )
            )
        return parsed

    def _missing(self, name: str) -> None:
        self.problems.append(
            InvalidInput(
                f"{name} is empty, but it is required.",
                place=self.place(name),
                fix=f"Fill in {name}.",
            )
        )


def read_vendor_invoices_csv(
    content: bytes, *, source: str, sha256: str = ""
) -> tuple[list[VendorInvoiceInput], list[BillguardError]]:
    """Read the invoices of a CSV file in the layout above.

    Returns the invoices whose rows all parsed, and the problems of the others. Raises
    UnreadableDocument when the file is not UTF-8 CSV and InvalidInput for a bad header.
    """
    text = _decode(content, source)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first_line and "," not in first_line else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise UnreadableDocument(
            f"the file is not valid CSV: {error}.",
            place=source,
            fix="Export the file again as CSV and check the quotes around values.",
        ) from error
    if not rows:
        raise InvalidInput(
            "the file is empty.", place=source, fix="Add a header row and one row per line."
        )
    header = [name.strip() for name in rows[0]]
    _check_header(header, source)

    problems: list[BillguardError] = []
    groups: dict[tuple[str, str], list[tuple[int, _Cells]]] = {}
    for row_number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            problems.append(
                InvalidInput(
                    f"the row has {len(row)} values, but the header has {len(header)} columns.",
                    place=f"{source}, row {row_number}",
                    value=len(row),
                    fix="Put double quotes around values that contain the separator.",
                )
            )
            continue
        values = {name: cell for name, cell in zip(header, row, strict=False) if name}
        cells = _Cells(values, _csv_place(source, row_number), problems)
        key = (cells.required_text("vendor"), cells.required_text("invoice_number"))
        groups.setdefault(key, []).append((row_number, cells))
    if not groups and not problems:
        raise InvalidInput(
            "the file has a header but no rows.", place=source, fix="Add one row per line."
        )

    entries = []
    for rows_of_invoice in groups.values():
        before = len(problems)
        entry = _csv_invoice(rows_of_invoice, source, sha256, problems)
        if entry is not None and len(problems) == before:
            entries.append(entry)
    return entries, problems


def read_vendor_invoice_json(content: bytes, *, source: str) -> VendorInvoiceInput:
    """Read one vendor invoice from a JSON object in the layout above.

    Raises UnreadableDocument when the file is not UTF-8 JSON, and VendorInvoiceInvalid
    listing every value that could not be read.
    """
    text = _decode(content, source)

    data = json_load(text, source=source)
    if not isinstance(data, dict):
        raise InvalidInput(
            "the file is not one JSON object.",
            place=source,
            fix='Write the invoice as {"vendor": ..., "lines": [...]}.',
        )
    problems: list[BillguardError] = []
    allowed = set(INVOICE_COLUMNS) | {"lines"}
    _unknown_keys(data, allowed, source, "field", problems)
    header = _Cells(data, lambda name: f"{source}, field {name}", problems)
    raw_lines = data.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        problems.append(
            InvalidInput(
                "lines is missing or empty, but an invoice needs at least one line.",
                place=f"{source}, field lines",
                fix='Add "lines": [{...}] with one object per line.',
            )
        )
        raw_lines = []
    line_cells = []
    indexes: list[int] = []  # the position in "lines" of each object read
    for index, raw in enumerate(raw_lines, start=1):
        prefix = f"{source}, lines[{index}]"
        if not isinstance(raw, dict):
            problems.append(
                InvalidInput(
                    "this line is not a JSON object.",
                    place=prefix,
                    fix="Write each line as an object in braces.",
                )
            )
            continue
        _unknown_keys(raw, set(LINE_COLUMNS), prefix, "field", problems)
        line_cells.append(_Cells(raw, _json_line_place(prefix), problems))
        indexes.append(index)
    entry = _build(
        header,
        line_cells,
        source=source,
        sha256="",
        source_row=None,
        problems=problems,
        label=lambda name: f"field {name}",
        line_label=lambda position, name: f"lines[{indexes[position - 1]}].{name}",
    )
    if problems or entry is None:
        raise VendorInvoiceInvalid(source, problems)
    return entry


# CSV helpers


def _csv_invoice(
    rows: list[tuple[int, _Cells]], source: str, sha256: str, problems: list[BillguardError]
) -> VendorInvoiceInput | None:
    first_row = rows[0][0]
    merged: dict[str, object] = {}
    origins: dict[str, int] = {}
    for row_number, cells in rows:
        for name in INVOICE_COLUMNS:
            text = cells.text(name)
            if not text:
                continue
            if name not in merged:
                merged[name] = text
                origins[name] = row_number
            elif merged[name] != text:
                problems.append(
                    InvalidInput(
                        f"{text!r} differs from {merged[name]!r} in row {origins[name]}, a row "
                        "of the same invoice.",
                        place=cells.place(name),
                        value=text,
                        fix="Give every row of one invoice the same value, or leave the cell "
                        "empty after the first row.",
                    )
                )

    def header_place(name: str) -> str:
        return f"{source}, row {origins.get(name, first_row)}, column {name}"

    header = _Cells(merged, header_place, problems)
    return _build(
        header,
        [cells for _, cells in rows],
        source=source,
        sha256=sha256,
        source_row=first_row,
        problems=problems,
        label=lambda name: f"column {name}",
        line_rows=[row_number for row_number, _ in rows],
        source_kind="csv",
    )


def _build(
    header: _Cells,
    lines: Sequence[_Cells],
    *,
    source: str,
    sha256: str,
    source_row: int | None,
    problems: list[BillguardError],
    label: Callable[[str], str],
    line_rows: Sequence[int | None] | None = None,
    line_label: Callable[[int, str], str] | None = None,
    source_kind: str = "entered",
) -> VendorInvoiceInput | None:
    """Turn parsed cells into an input; None when a value could not be parsed.

    ``label`` names where an invoice field is ("column vendor", "field vendor") and
    ``line_label`` where a field of the line at a position is, for later validation errors.
    """
    before = len(problems)
    vendor = header.required_text("vendor")
    order = header.required_text("purchase_order")
    number = header.required_text("invoice_number")
    issue_date = header.date("issue_date")
    due_date = header.date("due_date", required=False)
    currency = header.required_text("currency")
    net = header.decimal("net_total")
    tax = header.decimal("tax_total")
    gross = header.decimal("gross_total")
    line_inputs = []
    for position, cells in enumerate(lines, start=1):
        row = line_rows[position - 1] if line_rows is not None else None
        columns = {
            FIELD_OF_COLUMN.get(name, name): (
                line_label(position, name) if line_label is not None else label(name)
            )
            for name in LINE_COLUMNS
        }
        line = _line(cells, position, row, columns)
        if line is not None:
            line_inputs.append(line)
    entry = VendorInvoiceInput(
        vendor=vendor,
        purchase_order=order,
        number=number,
        issue_date=issue_date or dt.date.min,
        due_date=due_date,
        currency=currency,
        seller_entity=header.text("seller_entity"),
        payee_iban=header.text("payee_iban"),
        lines=line_inputs,
        net_amount=net if net is not None else Decimal(0),
        tax_amount=tax if tax is not None else Decimal(0),
        gross_amount=gross if gross is not None else Decimal(0),
        source=source_kind,
        source_file=source,
        source_row=source_row,
        source_sha256=sha256,
        columns={FIELD_OF_COLUMN.get(name, name): label(name) for name in INVOICE_COLUMNS},
    )
    if len(problems) == before and issue_date is not None:
        return entry
    # A value could not be read, so the invoice is not validated as a whole. Its lines still
    # are, so that one report lists the arithmetic errors of the rows too.
    if len(line_inputs) == len(lines):
        totals_read = net is not None and tax is not None and gross is not None
        problems.extend(arithmetic_problems(entry, totals=totals_read))
    return None


def _line(
    cells: _Cells, position: int, row: int | None, columns: dict[str, str]
) -> VendorInvoiceLineInput | None:
    before = len(cells.problems)
    line_number = cells.integer("line_number", required=False) or position
    order_line = cells.integer("order_line")
    quantity = cells.decimal("quantity")
    unit_price = cells.decimal("unit_price")
    net = cells.decimal("line_net")
    if len(cells.problems) > before or quantity is None or unit_price is None or net is None:
        return None
    return VendorInvoiceLineInput(
        line_number=line_number,
        order_line=order_line,
        quantity=quantity,
        unit_price=unit_price,
        net_amount=net,
        description=cells.text("description"),
        unit_code=cells.text("unit_code") or "C62",
        source_row=row,
        columns=columns,
    )


def _csv_place(source: str, row_number: int) -> Callable[[str], str]:
    return lambda name: f"{source}, row {row_number}, column {name}"


def _json_line_place(prefix: str) -> Callable[[str], str]:
    return lambda name: f"{prefix}.{name}"


def _check_header(header: list[str], source: str) -> None:
    place = f"{source}, row 1"
    names = [name for name in header if name]
    known = (*INVOICE_COLUMNS, *LINE_COLUMNS)
    problems: list[BillguardError] = []
    for name in sorted(set(names)):
        if names.count(name) > 1:
            problems.append(
                InvalidInput(
                    f"the column {name} appears more than once.",
                    place=place,
                    value=name,
                    fix="Keep one column of each name.",
                )
            )
        if name not in known:
            problems.append(
                InvalidInput(
                    f"{name!r} is not a vendor invoice column.",
                    place=place,
                    value=name,
                    fix=f"Use the documented column names: {', '.join(known)}.",
                )
            )
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        problems.append(
            InvalidInput(
                f"the header lacks the required columns {', '.join(missing)}.",
                place=place,
                value=", ".join(missing),
                fix="Add the missing columns to the first row (see docs/vendor-invoices.md).",
            )
        )
    if problems:
        raise VendorInvoiceInvalid(source, problems)


def _unknown_keys(
    data: Mapping[str, object],
    allowed: set[str],
    place: str,
    kind: str,
    problems: list[BillguardError],
) -> None:
    for key in data:
        if key not in allowed:
            problems.append(
                InvalidInput(
                    f"{key!r} is not a vendor invoice {kind}.",
                    place=place,
                    value=key,
                    fix=f"Use the documented names: {', '.join(sorted(allowed))}.",
                )
            )


def _decode(content: bytes, source: str) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableDocument(
            f"the file is not UTF-8 text: byte {error.start} cannot be decoded.",
            place=source,
            value=error.start,
            fix="Save the file with UTF-8 encoding (in Excel: CSV UTF-8).",
        ) from error
