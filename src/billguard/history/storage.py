"""Write imported documents with set-based SQL: a staging table, one upsert, then the lines.

On PostgreSQL the documents are copied into a temporary staging table with COPY (psycopg 3
``cursor.copy``) and moved into ``history_importedinvoice`` by one INSERT ... ON CONFLICT
(source, external_id) DO UPDATE, and the lines are copied straight into
``history_importedinvoiceline``: a changed document's lines are deleted and written again, so
lines need no merge. SQLite (3.35 or later, for RETURNING) runs the same statements, with
executemany in place of COPY. Must run inside the caller's transaction.

Every statement is built from the constant table and column names below, and every value is
a bound parameter or goes through COPY, hence the ``noqa: S608`` marks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
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
) -> dict[str, int]:
    """Upsert ``headers`` (tuples in HEADER_COLUMNS order) and replace their lines.

    ``lines`` maps an external id to its line tuples (LINE_COLUMNS without invoice_id) and
    ``credited`` a credit note's external id to the external id of the invoice it credits.
    Returns the database id of every written document by external id.
    """
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        _stage_create(cursor, postgres)
        _stage_fill(cursor, postgres, headers)
        ids = _upsert(cursor, source, import_id, imported_at)
        _lines_delete(cursor, list(ids.values()))
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
    cursor.executemany(f"INSERT INTO {STAGE} ({names}) VALUES ({marks})", _sqlite_rows(headers))  # noqa: S608


def _upsert(cursor: Any, source: str, import_id: int, imported_at: dt.datetime) -> dict[str, int]:
    names = ", ".join(HEADER_COLUMNS)
    updates = ", ".join(f"{n} = excluded.{n}" for n in HEADER_COLUMNS if n != "external_id")
    cursor.execute(
        f"INSERT INTO history_importedinvoice (source, imported_at, history_import_id, {names}) "  # noqa: S608
        f"SELECT %s, %s, %s, {names} FROM {STAGE} WHERE true "
        f"ON CONFLICT (source, external_id) DO UPDATE SET {updates}, "
        "imported_at = excluded.imported_at, history_import_id = excluded.history_import_id, "
        "credited_invoice_id = NULL "
        "RETURNING external_id, id",
        [source, connection.ops.adapt_datetimefield_value(imported_at), import_id],
    )
    return dict(cursor.fetchall())


def _lines_delete(cursor: Any, invoice_ids: list[int]) -> None:
    # Chunks keep each statement under SQLite's limit of bound parameters.
    for start in range(0, len(invoice_ids), 900):
        chunk = invoice_ids[start : start + 900]
        marks = ", ".join(["%s"] * len(chunk))
        cursor.execute(
            f"DELETE FROM history_importedinvoiceline WHERE invoice_id IN ({marks})",  # noqa: S608
            chunk,
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
        f"INSERT INTO history_importedinvoiceline ({names}) VALUES ({marks})",  # noqa: S608
        _sqlite_rows(rows),
    )


def _link_credit_notes(
    cursor: Any, source: str, ids: dict[str, int], credited: dict[str, str]
) -> None:
    """Set credited_invoice of each credit note whose invoice is stored (this import or before)."""
    if not credited:
        return
    wanted = sorted(set(credited.values()))
    known: dict[str, int] = {}
    for start in range(0, len(wanted), 900):
        chunk = wanted[start : start + 900]
        marks = ", ".join(["%s"] * len(chunk))
        cursor.execute(
            "SELECT external_id, id FROM history_importedinvoice "  # noqa: S608
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
