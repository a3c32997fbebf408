"""Reading the rows of a CSV file or of the first sheet of an XLSX workbook."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal

from billguard.imports.records import Cell, Problems


@dataclass
class Table:
    """The rows of one file as text, numbered as a spreadsheet shows them (header is row 1)."""

    file: str
    headers: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def cell(self, row: int, values: dict[str, str], column: str) -> Cell:
        return Cell(self.file, row, column, values.get(column) or "")

    def require_columns(self, columns: list[str], problems: Problems, *, layout: str) -> bool:
        """Report each missing column; return whether all are there."""
        missing = [column for column in columns if column not in self.headers]
        for column in missing:
            problems.add(
                f"the header has no column {column!r}.",
                file=self.file,
                row=1,
                column=column,
                fix=f"Export the file again with {layout}, or add the column.",
            )
        return not missing


def read_csv(name: str, data: bytes, problems: Problems) -> Table | None:
    """Read a UTF-8 CSV file (a byte order mark is allowed); None when it cannot be read."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        problems.add(
            f"the file is not UTF-8 text (byte {error.start} is invalid).",
            file=name,
            fix="Export it again as CSV in UTF-8.",
        )
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = list(reader)
    except csv.Error as error:
        problems.add(f"the CSV is malformed: {error}.", file=name, fix="Export it again as CSV.")
        return None
    if not rows:
        problems.add("the file is empty.", file=name, fix="Export it again with its header row.")
        return None
    headers = [header.strip() for header in rows[0]]
    table = Table(name, headers)
    for number, values in enumerate(rows[1:], start=2):
        if not any(value.strip() for value in values):
            continue
        if len(values) > len(headers):
            problems.add(
                f"the row has {len(values)} values but the header has {len(headers)} columns.",
                file=name,
                row=number,
                fix="Quote values that contain commas, or export the file again.",
            )
            continue
        table.rows.append((number, dict(zip(headers, values, strict=False))))
    return table


def read_xlsx(name: str, data: bytes, problems: Problems) -> Table | None:
    """Read the first sheet of a workbook with openpyxl in read-only mode.

    Dates become ISO text and numbers their shortest decimal text, so that every value is
    parsed by the same rules as a CSV value (amounts go from text to Decimal, never through a
    float sum).
    """
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as error:
        problems.add(
            f"the file is not an XLSX workbook: {error}.",
            file=name,
            fix="Save it as an Excel workbook (.xlsx) or export it as CSV.",
        )
        return None
    try:
        sheet = workbook.worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
    finally:
        workbook.close()
    if not rows:
        problems.add("the sheet is empty.", file=name, fix="Put the header in row 1.")
        return None
    headers = [_text(value).strip() for value in rows[0]]
    table = Table(name, headers)
    for number, values in enumerate(rows[1:], start=2):
        texts = [_text(value) for value in values]
        if not any(text.strip() for text in texts):
            continue
        table.rows.append((number, dict(zip(headers, texts, strict=False))))
    return table


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # repr gives the shortest text that reads back as the same float: 19.99, not 19.98999.
        return str(Decimal(repr(value)).normalize()) if value != int(value) else str(int(value))
    return str(value)
