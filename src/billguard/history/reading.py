"""Read an exported CSV or XLSX file as a header and rows of text cells."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from billguard.domain.errors import InvalidInput

# An XLSX file is a ZIP archive, which starts with these bytes.
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class Sheet:
    """The rows of one file: ``rows`` yields (row number as the file shows it, cells)."""

    name: str
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]


def sheet_open(path: Path, *, name: str | None = None) -> Sheet:
    """Open ``path`` as CSV (UTF-8, with or without a byte order mark) or as XLSX.

    The format is detected from the content: a ZIP archive is read as XLSX, anything else as CSV.
    Raises InvalidInput when the file cannot be read, is empty or is not UTF-8.
    """
    label = name or path.name
    try:
        content = path.read_bytes()
    except OSError as error:
        raise InvalidInput(
            f"cannot read {path}: {error.strerror}.",
            place=label,
            value=str(path),
            fix="Check the file name and that you may read it.",
        ) from None
    if content.startswith(_ZIP_MAGIC):
        return _xlsx_sheet(content, label)
    return _csv_sheet(content, label)


def _csv_sheet(content: bytes, label: str) -> Sheet:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            f"the file is not UTF-8 text (byte {error.start} is invalid).",
            place=label,
            value=label,
            fix="Export the file again as CSV UTF-8, or save it as XLSX.",
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise _empty(label)

    def rows() -> Iterator[tuple[int, list[str]]]:
        # Rows are numbered by record, as a spreadsheet shows them (the header is row 1),
        # so a quoted cell with a line break does not shift the numbers after it.
        for number, row in enumerate(reader, start=2):
            if row and any(row):
                yield number, row

    return Sheet(label, header, rows())


def _xlsx_sheet(content: bytes, label: str) -> Sheet:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise InvalidInput(
            f"the file is not a readable XLSX workbook ({error}).",
            place=label,
            value=label,
            fix="Save it again as an Excel workbook (.xlsx) or export it as CSV UTF-8.",
        ) from None
    sheet = book.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    first = next(values, None)
    if first is None or not any(cell not in (None, "") for cell in first):
        book.close()
        raise _empty(label)
    header = [_cell_text(cell) for cell in first]

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, row in enumerate(values, start=2):
                cells = [_cell_text(cell) for cell in row]
                if any(cells):
                    yield number, cells
        finally:
            book.close()

    return Sheet(label, header, rows())


def _cell_text(cell: object) -> str:
    """Return a cell's value as the text a CSV export would hold.

    Dates become ISO 8601 (2026-11-30), which every layout accepts. Numbers stored as floats
    are written with repr, the shortest text that reads back to the same float, so 0.1
    stays "0.1" and is then read as an exact Decimal.
    """
    if cell is None:
        return ""
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat()
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    return str(cell)


def _empty(label: str) -> InvalidInput:
    return InvalidInput(
        "the file has no header row.",
        place=label,
        value=label,
        fix="Export the file again with its column headers on the first row.",
    )
