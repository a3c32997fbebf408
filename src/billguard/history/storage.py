"""Write imported documents with set-based SQL: a staging table, one upsert, then the lines.

On PostgreSQL the documents are copied into a temporary staging table with COPY (psycopg 3
``cursor.copy``) and moved into ``history_importedinvoice`` by one INSERT ... ON CONFLICT
(source, external_id) DO UPDATE, and the lines are copied straight into
``history_importedinvoiceline``: a changed document's lines are deleted and written again, so
lines need no merge. SQLite (3.35 or later, for RETURNING) runs the same statements, with
executemany in place of COPY. Must run inside the caller's transaction.

Every statement is built from the constant table and column names below, and every value is
a bound parameter or goes through COPY.
"""

# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from django.db import connection

STAGE = "history_invoice_stage"
HEADER_COLUMNS = (
    "external_id",
    "document_type",
    "number",
    "customer_name",
    "party_id",
    "bill_to_id",
    "contract_id",
    "issue_date",
    "due_date",
    "currency",
    "line_extension",
    "tax_total",
    "total",
    "balance",
    "reference",
    "content_sha256",
)
_STAGE_TYPES = (
    "varchar(80)",
    "varchar(12)",
    "varchar(60)",
    "varchar(200)",
    "bigint",
    "bigint",
    "bigint",
    "date",
    "date",
    "varchar(3)",
    "numeric(18,3)",
    "numeric(18,3)",
    "numeric(18,3)",
    "numeric(18,3)",
    "varchar(400)",
    "varchar(64)",
)
LINE_COLUMNS = (
    "invoice_id",
    "position",
    "item_code",
    "line_code",
    "description",
    "quantity",
    "unit_price",
    "net_amount",
    "tax_code",
    "tax_rate",
    "tax_amount",
    "discount_percent",
    "account_code",
    "service_start",
    "service_end",
)


def documents_write(
    *,
    source: str,
    import_id: int,
    imported_at: dt.datetime,
    headers: Sequence[tuple[Any, ...]],
    lines: dict[str, list[tuple[Any, ...]]],
    credited: dict[str, str],
    lines_csv: Path | None = None,
) -> dict[str, int]:
    """Upsert ``headers`` (tuples in HEADER_COLUMNS order) and replace their lines.

    ``lines`` maps an external id to its line tuples (LINE_COLUMNS without invoice_id) and
    ``credited`` a credit note's external id to the external id of the invoice it credits.
    On PostgreSQL, ``lines_csv`` may instead name a CSV file with the lines of every document
    of the file, each row LINE_COLUMNS with the external id in place of invoice_id. Only the
    lines of the documents in ``headers`` are taken from it.
    Returns the database id of every written document by external id.
    """
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        _stage_create(cursor, postgres)
        _stage_fill(cursor, postgres, headers)
        _lines_delete(cursor, source)
        ids = _upsert(cursor, source, import_id, imported_at)
        if lines_csv is not None:
            _lines_from_csv(cursor, source, lines_csv)
        line_rows = (
            (ids[external_id], *line)
            for external_id, document_lines in lines.items()
            for line in document_lines
        )
        _lines_insert(cursor, postgres, line_rows)
        _link_credit_notes(cursor, source, ids, credited)
        cursor.execute(f"DROP TABLE {STAGE}")
    return ids


def _stage_create(cursor: Any, postgres: bool) -> None:
    columns = ", ".join(f"{n} {t}" for n, t in zip(HEADER_COLUMNS, _STAGE_TYPES, strict=True))
    cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
    cursor.execute(f"CREATE TEMPORARY TABLE {STAGE} ({columns})")


def _stage_fill(cursor: Any, postgres: bool, headers: Sequence[tuple[Any, ...]]) -> None:
    names = ", ".join(HEADER_COLUMNS)
    if postgres:
        with cursor.cursor.copy(f"COPY {STAGE} ({names}) FROM STDIN") as copy:
            for header in headers:
                copy.write_row(header)
        return
    marks = ", ".join(["%s"] * len(HEADER_COLUMNS))
    cursor.executemany(f"INSERT INTO {STAGE} ({names}) VALUES ({marks})", _sqlite_rows(headers))


def _upsert(cursor: Any, source: str, import_id: int, imported_at: dt.datetime) -> dict[str, int]:
    names = ", ".join(HEADER_COLUMNS)
    updates = ", ".join(f"{n} = excluded.{n}" for n in HEADER_COLUMNS if n != "external_id")
    cursor.execute(
        f"INSERT INTO history_importedinvoice (source, imported_at, history_import_id, {names}) "
        f"SELECT %s, %s, %s, {names} FROM {STAGE} WHERE true "
        f"ON CONFLICT (source, external_id) DO UPDATE SET {updates}, "
        "imported_at = excluded.imported_at, history_import_id = excluded.history_import_id, "
        "credited_invoice_id = NULL "
        "RETURNING external_id, id",
        [source, connection.ops.adapt_datetimefield_value(imported_at), import_id],
    )
    return dict(cursor.fetchall())


def _lines_delete(cursor: Any, source: str) -> None:
    """Delete the lines of the staged documents that are stored already (changed ones)."""
    cursor.execute(
        "DELETE FROM history_importedinvoiceline WHERE invoice_id IN ("
        f"SELECT i.id FROM history_importedinvoice i JOIN {STAGE} s "
        "ON i.source = %s AND i.external_id = s.external_id)",
        [source],
    )


def _lines_insert(cursor: Any, postgres: bool, rows: Iterable[tuple[Any, ...]]) -> None:
    names = ", ".join(LINE_COLUMNS)
    if postgres:
        with cursor.cursor.copy(f"COPY history_importedinvoiceline ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join(["%s"] * len(LINE_COLUMNS))
    cursor.executemany(
        f"INSERT INTO history_importedinvoiceline ({names}) VALUES ({marks})",
        _sqlite_rows(rows),
    )


def _lines_from_csv(cursor: Any, source: str, path: Path) -> None:
    """Copy the CSV into a staging table and insert the lines of the staged documents."""
    names = ", ".join(LINE_COLUMNS[1:])
    cursor.execute(
        "CREATE TEMPORARY TABLE history_line_stage (external_id varchar(80), position integer, "
        "item_code varchar(80), line_code varchar(40), description varchar(400), "
        "quantity numeric(18,4), unit_price numeric(20,6), net_amount numeric(18,3), "
        "tax_code varchar(40), tax_rate numeric(9,4), tax_amount numeric(18,3), "
        "discount_percent numeric(9,4), account_code varchar(40), service_start date, "
        "service_end date)"
    )
    with (
        cursor.cursor.copy(
            f"COPY history_line_stage (external_id, {names}) FROM STDIN WITH (FORMAT csv)"
        ) as copy,
        path.open("rb") as handle,
    ):
        while block := handle.read(1 << 20):
            copy.write(block)
    selected = ", ".join(f"s.{name}" for name in LINE_COLUMNS[1:])
    cursor.execute(
        f"INSERT INTO history_importedinvoiceline ({', '.join(LINE_COLUMNS)}) "
        f"SELECT i.id, {selected} FROM history_line_stage s "
        f"JOIN {STAGE} d ON d.external_id = s.external_id "
        "JOIN history_importedinvoice i ON i.source = %s AND i.external_id = s.external_id",
        [source],
    )
    cursor.execute("DROP TABLE history_line_stage")


def _link_credit_notes(
    cursor: Any, source: str, ids: dict[str, int], credited: dict[str, str]
) -> None:
    """Set credited_invoice of each credit note whose invoice is stored (this import or before)."""
    if not credited:
        return
    numbers = sorted(set(credited.values()))
    known: dict[str, int] = {}
    for start in range(0, len(numbers), 900):
        chunk = numbers[start : start + 900]
        marks = ", ".join(["%s"] * len(chunk))
        cursor.execute(
            "SELECT external_id, id FROM history_importedinvoice "
            f"WHERE source = %s AND external_id IN ({marks})",
            [source, *chunk],
        )
        known.update(dict(cursor.fetchall()))
    pairs = [
        (known[invoice], ids[note])
        for note, invoice in credited.items()
        if invoice in known and note in ids
    ]
    cursor.executemany(
        "UPDATE history_importedinvoice SET credited_invoice_id = %s WHERE id = %s", pairs
    )


def _sqlite_rows(rows: Iterable[tuple[Any, ...]]) -> Iterable[tuple[Any, ...]]:
    """Write decimals as text, as Django's SQLite backend does, so no value goes through float."""
    from decimal import Decimal

    for row in rows:
        yield tuple(str(value) if isinstance(value, Decimal) else value for value in row)
