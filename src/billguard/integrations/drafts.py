"""Read draft invoices from CSV or JSON files, or an invoice from a UBL file.

CSV format
----------
UTF-8 text (a byte order mark is allowed), separated by commas; a file whose header row
contains semicolons and no comma is read with semicolons. The first row is the header and
names the columns, in any order. Columns marked "required" must be in the header; the others
may be left out. An unknown column is an error, so that a misspelled name is not ignored.
Each further row is one invoice line; rows with the same invoice_ref form one invoice, in the
order of their first row.

Document columns. Give them on the first row of an invoice. Later rows may repeat the value or
leave the cell empty, but a different value is an error.

    invoice_ref     required; groups the rows and becomes the invoice number (BT-1)
    currency        required; ISO 4217 code such as EUR (BT-5)
    issue_date      YYYY-MM-DD (BT-2); empty on a draft not issued yet
    seller_name     required (BT-27)
    seller_tax_id   seller VAT identifier with country prefix, such as DE123456789 (BT-31)
    buyer_name      required (BT-44)
    buyer_tax_id    buyer VAT identifier (BT-48)
    buyer_country   ISO 3166-1 alpha-2 code such as FR (BT-55)
    customer_po     the buyer's purchase order number (BT-13)
    contract_ref    contract reference (BT-12)

Line columns, one line per row.

    period_start    service period start, YYYY-MM-DD (BT-134)
    period_end      service period end, YYYY-MM-DD (BT-135)
    line_id         line identifier (BT-126); the line's position in its invoice if empty
    item_id         seller's item identifier (BT-155)
    description     required; item name (BT-153)
    quantity        required (BT-129); negative for a credited quantity
    unit_code       UN/ECE Recommendation 20 code (BT-130); C62 ("one") if empty
    unit_price      required; net price per unit, not negative (BT-146, BR-27)
    net_amount      line net amount with at most the currency's decimals (BT-131); if empty,
                    quantity * unit_price rounded HALF_UP to the currency's minor unit
    tax_category    required; VAT category S, Z, E, AE, K, G, O, L, M or B (BT-151)
    tax_rate        VAT rate in percent (BT-152): required for S, L, M and B, 0 or empty for
                    Z, E, AE, K and G, empty for O
    exemption_reason  required for category E, empty for S, Z, L and M (BT-120)
    gl_account      buyer's accounting reference, such as a GL account (BT-133)

Numbers have a decimal point and no thousands separator (12.50, not 12,50); dates are
YYYY-MM-DD. The invoice period (BT-73, BT-74) spans the line periods. Each invoice's VAT
breakdown and totals are computed from its lines by ``billguard.domain.tax``: VAT per
category and rate, rounded HALF_UP to the currency's minor unit (EN 16931 BR-CO-17). Errors
count the header as row 1, as a spreadsheet does. A draft is always an invoice (UNTDID 1001
code 380); a credit appears as negative quantities.

Example::

    invoice_ref,currency,seller_name,buyer_name,description,quantity,unit_price,tax_category,tax_rate
    INV-7,EUR,Acme GmbH,Beta SARL,Support plan March,1,1200.00,S,20
    INV-7,,,,Extra user,3,15.50,S,20

JSON format
-----------
An object, or a list of objects, with the document fields above and ``lines``, a list of
objects with the line fields. An object may also carry period_start and period_end as the
invoice period. Numbers may be JSON numbers or strings; both are read as Decimal, never as
float. null counts as empty.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from pathlib import Path

from billguard.domain.errors import InvalidInput
from billguard.domain.invoice import InvoiceDocument
from billguard.einvoice.errors import UnreadableDocument
from billguard.einvoice.ubl_reader import read_ubl
from billguard.integrations.draft_fields import (
    DOCUMENT_FIELDS,
    LINE_FIELDS,
    REQUIRED_DOCUMENT_FIELDS,
    REQUIRED_LINE_FIELDS,
    DraftRecord,
    build_document,
)
from billguard.integrations.json_input import json_load

CSV_COLUMNS = DOCUMENT_FIELDS + LINE_FIELDS
# Document-level JSON keys: the document fields, the invoice period and the lines.
JSON_DOCUMENT_KEYS = (*DOCUMENT_FIELDS, "period_start", "period_end", "lines")


def read_drafts(path: str | os.PathLike[str]) -> list[InvoiceDocument]:
    """Read the invoices of a .xml (UBL 2.1), .csv or .json file.

    The extension chooses the reader; for another extension the content does (``<`` starts XML,
    ``{`` or ``[`` JSON, a header with invoice_ref CSV). Raises UnreadableDocument for any
    other file and InvalidInput for a bad value.
    """
    file_path = Path(path)
    source = file_path.name
    try:
        data = file_path.read_bytes()
    except OSError as error:
        raise UnreadableDocument(
            f"the file could not be read: {error.strerror}.",
            place=source,
            value=str(path),
            fix="Check the path and that the file is readable.",
        ) from error

    file_format = _detect_format(file_path.suffix.lower(), data)
    if file_format == "xml":
        return [read_ubl(data, source=source)]
    if file_format == "csv":
        return read_drafts_csv(data, source=source)
    if file_format == "json":
        return read_drafts_json(data, source=source)
    raise UnreadableDocument(
        "the file is neither UBL XML nor a CSV or JSON draft file.",
        place=source,
        value=file_path.suffix,
        fix="Send a UBL 2.1 invoice as .xml, or drafts as .csv or .json in the documented format.",
    )


def read_drafts_csv(data: bytes, *, source: str) -> list[InvoiceDocument]:
    """Read draft invoices from CSV in the format of this module's documentation."""
    text = _decode(data, source)
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
            "the file is empty.",
            place=source,
            fix="Add a header row and one row per invoice line.",
        )
    header = [name.strip() for name in rows[0]]
    _check_header(header, source)

    invoices: dict[str, list[DraftRecord]] = {}
    for row_number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        location = f"{source}, row {row_number}"
        if len(row) > len(header):
            raise InvalidInput(
                f"the row has {len(row)} values, but the header has {len(header)} columns.",
                place=location,
                value=len(row),
                fix="Put double quotes around values that contain the separator.",
            )
        values = {name: cell for name, cell in zip(header, row, strict=False) if name}
        record = DraftRecord(values, location, "column")
        invoice_ref = record.text("invoice_ref")
        if not invoice_ref:
            raise InvalidInput(
                "invoice_ref is missing, but every row needs it to name its invoice.",
                place=record.place("invoice_ref"),
                fix="Fill in the invoice reference on every row.",
            )
        invoices.setdefault(invoice_ref, []).append(record)

    if not invoices:
        raise InvalidInput(
            "the file has a header but no rows.",
            place=source,
            fix="Add one row per invoice line.",
        )
    return [
        build_document(_merge_document_fields(records), records, source)
        for records in invoices.values()
    ]


def read_drafts_json(data: bytes, *, source: str) -> list[InvoiceDocument]:
    """Read draft invoices from JSON: one object or a list of objects with nested lines."""
    text = _decode(data, source)

    parsed = json_load(text, source=source)
    objects = parsed if isinstance(parsed, list) else [parsed]
    if not objects:
        raise InvalidInput(
            "the file contains an empty list.",
            place=source,
            fix="Add one object per invoice.",
        )

    documents = []
    for index, invoice in enumerate(objects, start=1):
        location = f"{source}, invoice {index}"
        invoice_fields = _json_object(invoice, location, JSON_DOCUMENT_KEYS)
        lines = invoice_fields.get("lines")
        if not isinstance(lines, list) or not lines:
            raise InvalidInput(
                "lines is missing or empty, but every invoice needs at least one line.",
                place=f"{location}, field lines",
                fix='Add "lines": [{...}, ...] with one object per line.',
            )
        line_records = [
            DraftRecord(
                _json_object(line, f"{location}, line {number}", LINE_FIELDS),
                f"{location}, line {number}",
                "field",
            )
            for number, line in enumerate(lines, start=1)
        ]
        header = DraftRecord(invoice_fields, location, "field")
        documents.append(build_document(header, line_records, source))
    return documents


def _detect_format(suffix: str, data: bytes) -> str:
    if suffix in (".xml", ".csv", ".json"):
        return suffix[1:]
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"<":
        return "xml"
    if start in (b"{", b"["):
        return "json"
    if b"invoice_ref" in data.split(b"\n", 1)[0]:
        return "csv"
    return ""


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableDocument(
            f"the file is not UTF-8 text: byte {error.start} cannot be decoded.",
            place=source,
            value=error.start,
            fix="Save the file with UTF-8 encoding (in Excel: CSV UTF-8).",
        ) from error


def _check_header(header: list[str], source: str) -> None:
    place = f"{source}, row 1"
    names = [name for name in header if name]
    for name in names:
        if names.count(name) > 1:
            raise InvalidInput(
                f"the column {name} appears more than once.",
                place=place,
                value=name,
                fix="Keep one column of each name.",
            )
        if name not in CSV_COLUMNS:
            raise InvalidInput(
                f"{name!r} is not a draft column.",
                place=place,
                value=name,
                fix=f"Use the documented column names: {', '.join(CSV_COLUMNS)}.",
            )
    missing = [
        name for name in (*REQUIRED_DOCUMENT_FIELDS, *REQUIRED_LINE_FIELDS) if name not in names
    ]
    if missing:
        raise InvalidInput(
            f"the header lacks the required columns {', '.join(missing)}.",
            place=place,
            value=missing,
            fix="Add the missing columns to the first row.",
        )


def _merge_document_fields(records: list[DraftRecord]) -> DraftRecord:
    """Collect the document columns of an invoice's rows, remembering the row of each value."""
    values: dict[str, str] = {}
    origins: dict[str, str] = {}
    for record in records:
        for name in DOCUMENT_FIELDS:
            text = record.text(name)
            if not text:
                continue
            if name not in values:
                values[name] = text
                origins[name] = record.location
            elif values[name] != text:
                raise InvalidInput(
                    f"{text!r} differs from {values[name]!r} in {origins[name]}, a row of the "
                    "same invoice.",
                    place=record.place(name),
                    value=text,
                    fix="Give every row of one invoice the same value, or leave the cell empty "
                    "after the first row.",
                )
    return DraftRecord(values, records[0].location, "column", origins)


def _json_object(value: object, location: str, allowed: tuple[str, ...]) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise InvalidInput(
            "this entry is not a JSON object.",
            place=location,
            value=value,
            fix="Write each invoice and each line as an object in braces.",
        )
    for key in value:
        if key not in allowed:
            raise InvalidInput(
                f"{key!r} is not a draft field.",
                place=location,
                value=key,
                fix=f"Use the documented field names: {', '.join(allowed)}.",
            )
    return value
