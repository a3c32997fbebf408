"""Write imported documents with set-based SQL: a staging table, one upsert, then the lines.

On PostgreSQL the documents are copied into a temporary staging table with COPY (psycopg 3
``cursor.copy``) and moved into ``history_importedinvoice`` by one INSERT ... ON CONFLICT
(source, external_id) DO UPDATE, and the lines are copied straight into
``history_importedinvoiceline``: a changed document's lines are deleted and written again, so
lines need no merge. SQLite (3.35 or later, for RETURNING) runs the same statements, with
executemany in place of COPY. Must run inside the caller's transaction.

When none of a file's documents is stored yet (such as the first import into an empty
history), documents_copy_new and lines_copy_new skip the staging tables: the documents get
their ids from the table's sequence and are copied straight into the final tables, documents
and lines alike.

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
INVOICES = "history_importedinvoice"
LINES = "history_importedinvoiceline"
# Imports that write at least this many lines, and more lines than the line table contains, drop
# the secondary indexes and the foreign keys among the history tables and build them again.
# Building an index once is cheaper than updating it row by row, and a foreign key added
# again is checked by one join, where COPY would queue one check per row.
BULK_LINES = 100_000
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


def invoice_ids_reserve(count: int) -> list[int]:
    """Take ``count`` consecutive ids from the sequence of history_importedinvoice, and lock
    the table against writes by other transactions (PostgreSQL only)."""
    if count == 0:
        return []
    with connection.cursor() as cursor:
        # The lock keeps other transactions from inserting rows, the only users of the
        # sequence, until this one ends. So the ids between the two calls are this import's.
        cursor.execute(f"LOCK TABLE {INVOICES} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(
            "SELECT setval(sequence, nextval(sequence) + %s - 1) FROM "
            f"(SELECT pg_get_serial_sequence('{INVOICES}', 'id')::regclass AS sequence) s",
            [count],
        )
        (last,) = cursor.fetchone()
    return list(range(last - count + 1, last + 1))


def documents_copy_new(
    *,
    source: str,
    import_id: int,
    imported_at: dt.datetime,
    headers: Sequence[tuple[Any, ...]],
    line_count: int,
    headers_csv: Iterable[bytes] = (),
) -> list[str]:
    """Copy documents that are not stored yet into history_importedinvoice, and check their
    foreign keys. Returns the statements that lines_copy_new runs after the lines are copied.

    ``headers`` are tuples of the id (from invoice_ids_reserve) and HEADER_COLUMNS, and
    ``line_count`` is the number of their lines. ``headers_csv`` may instead give CSV text, in
    blocks, of the rows as COPY takes them: the id, source, import time, import id and
    HEADER_COLUMNS.
    PostgreSQL only. A bulk import (BULK_LINES) holds an ACCESS EXCLUSIVE lock on the history
    tables until the transaction ends, so other sessions wait to read them.
    """
    with connection.cursor() as cursor:
        rebuild = _bulk_prepare(cursor) if _is_bulk(cursor, line_count) else []
        _documents_from_csv(cursor, headers_csv)
        names = ", ".join(HEADER_COLUMNS)
        if headers:
            with cursor.cursor.copy(
                f"COPY {INVOICES} (id, source, imported_at, history_import_id, {names}) FROM STDIN"
            ) as copy:
                for header in headers:
                    copy.write_row((header[0], source, imported_at, import_id, *header[1:]))
        # Checked now rather than at commit, so the caller can do other work meanwhile and
        # the tables can be indexed again after the lines are copied.
        _deferred_checks_run(cursor)
    return rebuild


def lines_copy_new(
    *,
    source: str,
    lines_csv: Path,
    rebuild: list[str],
    ids: dict[str, int],
    credited: dict[str, str],
) -> None:
    """Copy the lines of the documents that documents_copy_new wrote, then run ``rebuild``.

    ``lines_csv`` is a CSV file of exactly their lines, each row LINE_COLUMNS. ``ids`` maps
    the documents' external ids to their ids, for linking credit notes.
    """
    with connection.cursor() as cursor:
        with (
            cursor.cursor.copy(
                f"COPY {LINES} ({', '.join(LINE_COLUMNS)}) FROM STDIN WITH (FORMAT csv)"
            ) as copy,
            lines_csv.open("rb") as handle,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        for statement in rebuild:
            cursor.execute(statement)
        _link_credit_notes(cursor, source, ids, credited)


def _documents_from_csv(cursor: Any, blocks: Iterable[bytes]) -> None:
    """Copy CSV text of documents, each row the id, source, import time, import id and
    HEADER_COLUMNS. Nothing is copied when ``blocks`` is empty."""
    names = ", ".join(HEADER_COLUMNS)
    blocks = iter(blocks)
    first = next(blocks, None)
    if first is None:
        return
    with cursor.cursor.copy(
        f"COPY {INVOICES} (id, source, imported_at, history_import_id, {names}) "
        "FROM STDIN WITH (FORMAT csv)"
    ) as copy:
        copy.write(first)
        for block in blocks:
            copy.write(block)


def _is_bulk(cursor: Any, line_count: int) -> bool:
    if line_count < BULK_LINES:
        return False
    # The planner's row estimate, which is enough to compare sizes (-1: never analysed).
    cursor.execute("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %s::regclass", [LINES])
    (stored,) = cursor.fetchone()
    return line_count > stored


def _bulk_prepare(cursor: Any) -> list[str]:
    """Drop the secondary indexes of the invoice and line tables, the foreign keys among the
    history tables and the line table's primary key, and return the statements that create
    them again.

    Foreign keys to the registry stay: dropping one would lock the registry table against
    reads until the import commits. The invoice table's primary key and unique constraints
    stay too, because foreign keys of other tables refer to them.
    """
    _deferred_checks_run(cursor)
    tables = [INVOICES, LINES]
    cursor.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary AND NOT i.indisunique",
        [tables],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) "
        "AND confrelid::regclass::text = ANY(%s)",
        [tables, [*tables, "history_historyimport"]],
    )
    foreign_keys = cursor.fetchall()
    # No foreign key refers to the line table's primary key, so it is built again as well.
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'p' AND conrelid = %s::regclass",
        [LINES],
    )
    primary_keys = cursor.fetchall()
    quote = connection.ops.quote_name
    for table, name, _definition in foreign_keys + primary_keys:
        cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {quote(name)}")

    def added(table: str, name: str, definition: str) -> str:
        return f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}"

    return (
        [added(*constraint) for constraint in primary_keys]
        + [definition for _name, definition in indexes]
        + [added(*constraint) for constraint in foreign_keys]
    )


def _deferred_checks_run(cursor: Any) -> None:
    """Run now the deferred foreign key checks that involve the invoice or line table.

    PostgreSQL refuses to index or alter a table with pending checks, such as those of rows
    written earlier in the transaction. The checks would run at commit anyway, so running
    them earlier raises the same errors inside the same transaction.
    """
    cursor.execute(
        "SELECT DISTINCT conname FROM pg_constraint WHERE contype = 'f' AND condeferred "
        "AND (conrelid = ANY(%s::regclass[]) OR confrelid = ANY(%s::regclass[]))",
        [[INVOICES, LINES], [INVOICES, LINES]],
    )
    names = ", ".join(connection.ops.quote_name(name) for (name,) in cursor.fetchall())
    if names:
        cursor.execute(f"SET CONSTRAINTS {names} IMMEDIATE")
        cursor.execute(f"SET CONSTRAINTS {names} DEFERRED")


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
