"""The vectorised path for a CSV invoice or credit note file on PostgreSQL.

Python's csv module alone reads about 100,000 rows a second on one core (measured on the
benchmark machine of docs/benchmarks.md), so a million-line export cannot be parsed row by
row at that speed. This path reads and checks the file with DuckDB, which the duplicate-party
matcher already depends on. It resolves each document (not each line) in Python, computes
each line's contract line and service period in DuckDB, and moves the lines into PostgreSQL
with COPY. When no document of the file is stored yet, the COPY goes straight into the final
tables. Otherwise it goes into a staging table, followed by one INSERT ... SELECT.

Its checks are stricter than the row-by-row parser's (plain numbers only, no thousands
separators, no Xero discounts, dates as YYYY-MM-DD or the system's slash dates). When any row
fails them, it writes nothing and returns False, and the caller runs the row-by-row path,
which imports the file or reports every problem with its row, column and fix. So problems are
worded in one place, and both paths store the same values.
"""

# The SQL below is built from constant names, the file's column positions and the ISO 4217
# table. Every value from the file is read by DuckDB as data, never spliced into SQL text.
# ruff: noqa: S608

from __future__ import annotations

import csv
import os
import select
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import connection

from billguard.domain.currencies import _MINOR_UNITS
from billguard.history.fast_resolution import documents_resolve, registry_tables_load
from billguard.history.layouts import CREDIT_NOTES, XERO, Layout
from billguard.history.parsing import column_index
from billguard.history.reading import Sheet
from billguard.history.resolution import Registry
from billguard.history.storage import (
    HEADER_COLUMNS,
    documents_copy_new,
    documents_write,
    invoice_ids_reserve,
    lines_copy_new,
)

if TYPE_CHECKING:
    from billguard.history.services import ImportOutcome, KindCounts

# Month index (year * 12 + month - 1) to the billing day's date in that month, clamped to the
# month's last day, as billguard.domain.periods computes a period boundary.
_BOUNDARY = (
    "make_date(({m}) // 12, ({m}) % 12 + 1, least({day}, "
    "day(last_day(make_date(({m}) // 12, ({m}) % 12 + 1, 1)))))"
)


def fast_path_applies(path: Path) -> bool:
    """Return whether ``path`` can take this path: PostgreSQL, and a CSV file (not XLSX)."""
    if connection.vendor != "postgresql":
        return False
    with path.open("rb") as handle:
        return not handle.read(4).startswith(b"PK\x03\x04")


def documents_import_fast(
    *,
    path: Path,
    layout: Layout,
    date_order: str,
    default_currency: str | None,
    registry_load: Callable[[], Registry],
    invoice_terms: dict[str, tuple[int | None, int | None, int | None]],
    stored: dict[str, str],
    prefix: str,
    counts: KindCounts,
    outcome: ImportOutcome,
    write: dict[str, Any],
) -> bool:
    """Import the file, or return False, having written nothing, when a row needs the
    row-by-row path.

    ``registry_load`` returns the registry, reading it while DuckDB reads the file when it is
    not read yet. ``stored`` maps the external ids of this source's stored documents to their
    digests. ``write`` contains the source, import id and time that documents_write takes.
    """
    import duckdb

    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), [])
    problems: list[Any] = []
    index = column_index(Sheet(path.name, header, iter(())), layout, problems)
    if problems or not header:
        return False

    database = duckdb.connect()
    try:
        with tempfile.TemporaryDirectory(prefix="billguard-history-") as folder:
            with ThreadPoolExecutor(max_workers=1) as pool:
                # DuckDB releases the GIL while it runs, so the registry is read meanwhile.
                reading = pool.submit(
                    _file_read, database, path, index, len(header), layout, date_order,
                    default_currency,
                )  # fmt: skip
                registry = registry_load()
                registry_tables_load(database, registry, invoice_terms, Path(folder))
                # Each resolved document's digest includes its contract's signature. Those
                # are computed meanwhile, as far as the reading leaves time.
                for terms in registry.contracts_by_id.values():
                    if reading.done():
                        break
                    registry.contract_signature(terms)
                if not reading.result():
                    return False
            kind = "credit_note" if layout.kind == CREDIT_NOTES else "invoice"
            _documents_store(
                database, Path(folder), kind=kind, registry=registry, stored=stored,
                prefix=prefix, counts=counts, outcome=outcome, write=write,
            )  # fmt: skip
    finally:
        database.close()
    return True


def _file_read(
    database: Any,
    path: Path,
    index: dict[str, int],
    width: int,
    layout: Layout,
    date_order: str,
    default_currency: str | None,
) -> bool:
    """Read the file into the DuckDB tables ``typed`` and ``documents`` on a cursor of its
    own. Return False when a row or document needs the row-by-row path."""
    with database.cursor() as cursor:
        columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width))
        cursor.execute(
            f"CREATE TABLE raw AS SELECT * FROM read_csv(?, header = true, delim = ',', "
            f"quote = '\"', escape = '\"', columns = {{{columns}}}, null_padding = true, "
            "strict_mode = true)",
            [str(path)],
        )
        _typed_view(cursor, index, width, layout, date_order, default_currency)
        (rejected,) = cursor.execute("SELECT count(*) FROM typed WHERE NOT ok").fetchone()
        if rejected:
            return False
        cursor.execute(f"CREATE TABLE documents AS {_documents_query()}")
        (needs_row_path,) = cursor.execute(_NEEDS_ROW_PATH).fetchone()
    return not needs_row_path


def _documents_store(
    database: Any,
    folder: Path,
    *,
    kind: str,
    registry: Registry,
    stored: dict[str, str],
    prefix: str,
    counts: KindCounts,
    outcome: ImportOutcome,
    write: dict[str, Any],
) -> None:
    """Resolve the documents of ``documents`` and store the new and changed ones.

    When no document of the file is stored yet, _documents_copy copies the documents and
    lines straight into the final tables. Otherwise they go through the staging tables of
    documents_write. Either way, DuckDB resolves the lines on a second thread meanwhile.
    """
    documents_resolve(database, registry, kind, folder)
    quoted_prefix = prefix.replace("'", "''")
    database.execute(
        f"CREATE TABLE document_keys AS SELECT ordinal, '{quoted_prefix}' || number AS "
        "external_id FROM documents"
    )
    _table_load(
        database, "stored_digests", "external_id VARCHAR, digest VARCHAR", list(stored.items()),
        folder,
    )  # fmt: skip
    (documents, known) = database.execute(
        "SELECT count(*), count(s.digest) FROM document_keys k "
        "LEFT JOIN stored_digests s ON s.external_id = k.external_id"
    ).fetchone()
    database.execute(
        "CREATE TABLE document_contracts AS SELECT d.number, r.contract_id FROM documents d "
        "JOIN resolutions r ON r.ordinal = d.ordinal WHERE r.contract_id IS NOT NULL"
    )
    used = {
        row[0]
        for row in database.execute(
            "SELECT DISTINCT contract_id FROM document_contracts"
        ).fetchall()
    }
    if documents > 0 and known == 0:
        _documents_copy(
            database, folder, kind=kind, registry=registry, used=used, prefix=prefix,
            documents=documents, counts=counts, outcome=outcome, write=write,
        )  # fmt: skip
        return
    lines_file = folder / "lines.csv"
    with ThreadPoolExecutor(max_workers=1) as pool:
        # DuckDB releases the GIL while it runs, so the lines are resolved meanwhile.
        lines_export = pool.submit(
            _lines_resolve, database, registry, used, prefix, None, lines_file
        )
        _signatures_load(database, registry, folder)
        database.execute(f"CREATE TABLE headers AS {_HEADERS_SELECT.replace('KIND', kind)}")
        (lines, created, updated, unchanged) = database.execute(
            "SELECT coalesce(sum(line_count), 0), count(*) FILTER (stored_digest IS NULL), "
            "count(*) FILTER (stored_digest <> content_sha256), "
            "count(*) FILTER (stored_digest = content_sha256) FROM headers"
        ).fetchone()
        counts.read += documents
        counts.lines += lines
        counts.created += created
        counts.updated += updated
        counts.unchanged += unchanged
        _unresolved_report(outcome, *_unresolved_read(database))
        credited = dict(
            database.execute(
                "SELECT external_id, credited FROM headers WHERE credited <> '' "
                "AND stored_digest IS DISTINCT FROM content_sha256"
            ).fetchall()
        )
        outcome.lines_without_contract_line += lines_export.result()
    if created + updated:
        headers = database.execute(
            f"SELECT {', '.join(HEADER_COLUMNS)} FROM headers "
            "WHERE stored_digest IS DISTINCT FROM content_sha256 ORDER BY ordinal"
        ).fetchall()
        _csv_export(database, "SELECT * EXCLUDE (contract_id) FROM resolved", lines_file)
        documents_write(headers=headers, lines={}, lines_csv=lines_file, credited=credited, **write)


def _documents_copy(
    database: Any,
    folder: Path,
    *,
    kind: str,
    registry: Registry,
    used: set[int],
    prefix: str,
    documents: int,
    counts: KindCounts,
    outcome: ImportOutcome,
    write: dict[str, Any],
) -> None:
    """Copy every document of the file and its lines straight into the final tables.

    Document ``ordinal`` (its place in the file, from 1) gets the id ``first + ordinal - 1``
    of the ids reserved for the file. While PostgreSQL copies the documents and checks their
    foreign keys, DuckDB resolves the lines and lists the unresolved documents.
    """
    first = invoice_ids_reserve(documents)[0]
    (lines,) = database.execute("SELECT sum(line_count) FROM documents").fetchone()
    lines_file = folder / "lines.csv"
    lines_query = (
        f"SELECT {first} - 1 + k.ordinal, r.* EXCLUDE (external_id, contract_id) "
        "FROM resolved r JOIN document_keys k ON k.external_id = r.external_id"
    )
    with ThreadPoolExecutor(max_workers=3) as pool:
        # DuckDB releases the GIL while it runs, so the lines are resolved meanwhile.
        lines_export = pool.submit(
            _lines_resolve, database, registry, used, prefix, lines_query, lines_file
        )
        _signatures_load(database, registry, folder)
        database.execute(
            "CREATE TABLE import_fields AS SELECT ?::VARCHAR AS source, "
            "?::TIMESTAMPTZ AS imported_at, ?::BIGINT AS import_id",
            [write["source"], write["imported_at"], write["import_id"]],
        )
        query = (
            f"SELECT {first} - 1 + h.ordinal, f.source, f.imported_at, f.import_id, "
            f"{', '.join(f'h.{name}' for name in HEADER_COLUMNS)} "
            f"FROM ({_HEADERS_SELECT.replace('KIND', kind)}) h CROSS JOIN import_fields f"
        )
        unresolved = pool.submit(_unresolved_read, database)
        # DuckDB writes the documents into a named pipe that PostgreSQL's COPY reads, so
        # the two overlap.
        with _pipe_read(folder / "documents.csv") as (pipe, blocks):
            writing = pool.submit(_csv_write, database, query, pipe)
            rebuild = documents_copy_new(
                headers=(), headers_csv=blocks(writing), line_count=lines, **write
            )
        # Once the pipe is closed, a writer that had not finished fails instead of waiting.
        writing.result()
        _copied_check(first, documents)
        _unresolved_report(outcome, *unresolved.result())
        outcome.lines_without_contract_line += lines_export.result()
    counts.read += documents
    counts.lines += lines
    counts.created += documents
    credited_rows = database.execute(
        f"SELECT k.external_id, r.credited, {first} - 1 + r.ordinal FROM resolutions r "
        "JOIN document_keys k ON k.ordinal = r.ordinal WHERE r.credited <> ''"
    ).fetchall()
    lines_copy_new(
        source=write["source"], lines_csv=lines_file, rebuild=rebuild,
        ids={external_id: id_ for external_id, _credited, id_ in credited_rows},
        credited={external_id: number for external_id, number, _id in credited_rows},
    )  # fmt: skip


def _csv_write(database: Any, query: str, file: Path) -> None:
    """Write the rows of ``query`` to ``file`` as CSV on a cursor of its own."""
    with database.cursor() as cursor:
        _csv_export(cursor, query, file)


@contextmanager
def _pipe_read(
    path: Path,
) -> Iterator[tuple[Path, Callable[[Future[None]], Iterator[bytes]]]]:
    """Create the named pipe ``path`` and yield it with a function that reads it in blocks
    while the future writing it runs.

    The reading end is open before the writer starts, so the writer does not wait to open it,
    and closing it on the way out makes a writer still running fail instead of wait. The
    reader polls, so a writer that fails before it opens the pipe ends the reading with its
    error.
    """
    os.mkfifo(path)
    handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)

    def blocks(writer: Future[None]) -> Iterator[bytes]:
        poller = select.poll()
        poller.register(handle, select.POLLIN | select.POLLHUP)
        while True:
            if not poller.poll(50):
                if writer.done() and writer.exception() is not None:
                    raise writer.exception()  # type: ignore[misc]
                continue
            try:
                block = os.read(handle, 1 << 20)
            except BlockingIOError:
                continue
            if not block:
                return
            yield block

    try:
        yield path, blocks
    finally:
        os.close(handle)


def _copied_check(first: int, documents: int) -> None:
    """Raise unless the ``documents`` ids from ``first`` on are all stored: the pipe ended
    early otherwise."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM history_importedinvoice WHERE id BETWEEN %s AND %s",
            [first, first + documents - 1],
        )
        (copied,) = cursor.fetchone()
    if copied != documents:
        raise RuntimeError(
            f"only {copied} of {documents} documents reached PostgreSQL; nothing is imported"
        )


def _unresolved_read(database: Any) -> tuple[list[tuple[str, str, str, str]], int]:
    """Return the unresolved documents in file order (number, customer, customer issue,
    contract issue) and the number of credit notes that name their invoice. Runs on a
    cursor of its own, so on any thread."""
    with database.cursor() as cursor:
        rows = cursor.execute(
            "SELECT d.number, d.customer, r.customer_issue, r.contract_issue "
            "FROM documents d JOIN resolutions r ON r.ordinal = d.ordinal "
            "WHERE r.customer_issue <> '' OR r.contract_id IS NULL ORDER BY d.ordinal"
        ).fetchall()
        (linked,) = cursor.execute(
            "SELECT count(*) FROM resolutions WHERE credited <> ''"
        ).fetchone()
    return rows, int(linked)


def _unresolved_report(
    outcome: ImportOutcome, rows: list[tuple[str, str, str, str]], linked: int
) -> None:
    """Add what _unresolved_read returned to ``outcome``."""
    from billguard.history.services import Unresolved

    outcome.credit_notes_linked += linked
    for number, customer, customer_issue, contract_issue in rows:
        if customer_issue:
            outcome.unresolved_customers.append(Unresolved(number, customer, customer_issue))
        else:
            outcome.unresolved_contracts.append(Unresolved(number, customer, contract_issue))


def _lines_resolve(
    database: Any, registry: Registry, used: set[int], prefix: str, query: str | None, file: Path
) -> int:
    """Create ``resolved`` (see _line_sql) on a cursor of its own, so that it can run on a
    second thread. Write the rows of ``query`` to ``file`` when a query is given. Return the
    number of lines without a contract line."""
    with database.cursor() as cursor:
        _registry_tables(cursor, registry, used, file.parent)
        cursor.execute(_line_sql(prefix))
        (without_line,) = cursor.execute(
            "SELECT count(*) FROM resolved WHERE line_code = ''"
        ).fetchone()
        if query is not None:
            _csv_export(cursor, query, file)
    return int(without_line)


def _signatures_load(database: Any, registry: Registry, folder: Path) -> None:
    """Load the signature (Registry.contract_signature) of each contract that a document
    resolved to into the DuckDB table ``contract_signatures``."""
    used = database.execute(
        "SELECT DISTINCT contract_id FROM resolutions WHERE contract_id IS NOT NULL"
    ).fetchall()
    rows = [
        (contract_id, registry.contract_signature(registry.contracts_by_id[contract_id]))
        for (contract_id,) in used
    ]
    _table_load(
        database, "contract_signatures", "contract_id BIGINT, signature VARCHAR", rows, folder
    )


# The stored fields of each document (HEADER_COLUMNS, as services.document_header gives them),
# its digest and the digest stored for it. The digest changes when the file's rows, a stored
# field, the credited invoice or the contract's lines and versions change.
_HEADERS_SELECT = """
WITH fields AS (
    SELECT
        d.ordinal,
        k.external_id,
        'KIND' AS document_type,
        left(d.number, 60) AS number,
        left(d.customer, 200) AS customer_name,
        r.party_id,
        r.bill_to_id,
        r.contract_id,
        d.issue_date,
        d.due_date,
        d.currency,
        d.line_extension,
        d.tax_total,
        d.line_extension + d.tax_total AS total,
        d.balance,
        left(d.reference, 400) AS reference,
        d.raw_sha,
        d.line_count,
        d.number AS number_text,
        d.customer AS customer_text,
        r.credited,
        coalesce(s.signature, '') AS signature
    FROM documents d
    JOIN document_keys k ON k.ordinal = d.ordinal
    JOIN resolutions r ON r.ordinal = d.ordinal
    LEFT JOIN contract_signatures s ON s.contract_id = r.contract_id
)
SELECT
    f.*,
    sha256(concat_ws(chr(31),
        CAST(f.raw_sha AS VARCHAR), f.document_type, f.number, f.customer_name,
        coalesce(CAST(f.party_id AS VARCHAR), '-'), coalesce(CAST(f.bill_to_id AS VARCHAR), '-'),
        coalesce(CAST(f.contract_id AS VARCHAR), '-'), CAST(f.issue_date AS VARCHAR),
        coalesce(CAST(f.due_date AS VARCHAR), '-'), f.currency, CAST(f.line_extension AS VARCHAR),
        CAST(f.tax_total AS VARCHAR), coalesce(CAST(f.balance AS VARCHAR), '-'), f.reference,
        f.credited, f.signature
    )) AS content_sha256,
    st.digest AS stored_digest
FROM fields f
LEFT JOIN stored_digests st ON st.external_id = f.external_id
"""


def _typed_view(
    database: Any,
    index: dict[str, int],
    width: int,
    layout: Layout,
    date_order: str,
    default_currency: str | None,
) -> None:
    """Create the table ``typed``: each row's values as the row-by-row parser reads them, and
    ``ok``, false where a row needs the row-by-row parser.

    Dates are parsed once per distinct text (an export has few distinct dates) and joined
    back, and each row is hashed for the document digest rather than concatenated.
    """
    fields = (
        "number", "customer", "issue_date", "due_date", "reference", "currency", "item_code",
        "description", "quantity", "unit_price", "net_amount", "tax_code", "tax_amount",
        "account_code", "service_date", "total", "tax_total", "balance", "discount_percent",
    )  # fmt: skip

    def cell(name: str) -> str:
        return f"trim(coalesce(c{index[name]}, ''))" if name in index else "''"

    cells = ", ".join(f"{cell(name)} AS {name}" for name in fields)
    row_hash = f"hash({', '.join(f'c{i}' for i in range(width))})"

    currencies = ", ".join(f"('{code}', {units})" for code, units in _MINOR_UNITS.items())
    database.execute("CREATE TABLE minor_units (code VARCHAR, units INTEGER)")
    database.execute(f"INSERT INTO minor_units VALUES {currencies}")
    default = (default_currency or "").replace("'", "")
    slash = "%m/%d/%Y" if date_order == "mdy" else "%d/%m/%Y"
    date_columns = ("issue_date", "due_date", "service_date")
    distinct_texts = " UNION ".join(
        f"SELECT DISTINCT {cell(name)} AS text FROM raw" for name in date_columns
    )
    database.execute(
        "CREATE TABLE dates AS SELECT text, "
        "CASE WHEN regexp_full_match(text, '\\d{4}-\\d{1,2}-\\d{1,2}') "
        "THEN try_strptime(text, '%Y-%m-%d')::DATE "
        "WHEN regexp_full_match(text, '\\d{1,2}/\\d{1,2}/\\d{4}') "
        f"THEN try_strptime(text, '{slash}')::DATE END AS value FROM ({distinct_texts})"
    )

    def decimal(name: str) -> str:
        return f"TRY_CAST(nullif(p.{name}, '') AS DECIMAL(24, 6))"

    numbers = (
        "quantity",
        "unit_price",
        "net_amount",
        "tax_amount",
        "total",
        "tax_total",
        "balance",
    )
    is_xero = layout.system == XERO
    quantity = f"coalesce({decimal('quantity')}, 1)"
    price = decimal("unit_price")
    net = decimal("net_amount")
    # Xero computes a line's amount from quantity and unit amount when LineAmount is empty.
    product = f"{quantity} * {price}"
    # round() takes a constant number of decimals, so each ISO 4217 minor unit has its branch.
    rounded = " ".join(
        f"WHEN {units} THEN round({product}, {units})::DECIMAL(24, 6)" for units in (0, 2, 3, 4)
    )
    net_value = f"coalesce({net}, CASE m.units {rounded} END)" if is_xero else net
    price_value = price if is_xero else f"coalesce({price}, {net})"
    number_checks = " AND ".join(
        f"(p.{name} = '' OR {decimal(name)} IS NOT NULL)" for name in numbers
    )
    date_joins = " ".join(
        f"LEFT JOIN dates {name} ON {name}.text = p.{name}" for name in date_columns
    )
    database.execute(
        f"""
        CREATE TABLE typed AS
        WITH cells AS (
            SELECT rowid + 2 AS row_number, {cells}, {row_hash} AS row_hash,
                coalesce(nullif(upper({cell("currency")}), ''), '{default}') AS currency_code
            FROM raw
        )
        SELECT
            p.row_number, p.number, p.customer, issue_date.value AS issue_date,
            due_date.value AS due_date, p.reference, p.currency_code AS currency,
            p.item_code, p.description, {quantity} AS quantity, {price_value} AS unit_price,
            {net_value} AS net_amount, p.tax_code,
            coalesce({decimal("tax_amount")}, 0) AS tax_amount,
            p.account_code, service_date.value AS service_date, {decimal("total")} AS total,
            {decimal("tax_total")} AS tax_total, {decimal("balance")} AS balance, p.row_hash,
            {", ".join(f"p.{name} AS {name}_text" for name in _DOCUMENT_TEXT_FIELDS)},
            (
                p.number <> '' AND p.customer <> '' AND issue_date.value IS NOT NULL
                AND (p.due_date = '' OR due_date.value >= issue_date.value)
                AND (p.service_date = '' OR service_date.value IS NOT NULL)
                AND m.units IS NOT NULL
                AND {number_checks}
                AND p.discount_percent = ''
                AND {_decimals_within("p.quantity", "4")}
                AND {_decimals_within("p.net_amount", "m.units")}
                AND {_decimals_within("p.tax_amount", "m.units")}
                AND {"TRUE" if is_xero else f"{net} IS NOT NULL"}
                AND {f"{price} IS NOT NULL" if is_xero else "TRUE"}
                AND ({price} IS NOT NULL OR {quantity} = 1)
                AND abs({quantity} * {price_value} - {net_value}) <= pow(10, -m.units)
            ) IS TRUE AS ok
        FROM cells p
        LEFT JOIN minor_units m ON m.code = p.currency_code
        {date_joins}
        """
    )


_DOCUMENT_TEXT_FIELDS = (
    "customer",
    "issue_date",
    "due_date",
    "reference",
    "currency",
    "total",
    "tax_total",
    "balance",
)


def _decimals_within(value: str, decimals: str) -> str:
    """SQL that is true when ``value`` has no non-zero digit past ``decimals`` decimals."""
    return (
        f"(strpos({value}, '.') = 0 OR length(rtrim(split_part({value}, '.', 2), '0')) "
        f"<= {decimals})"
    )


def _documents_query() -> str:
    """SQL for one row per document with its place in the file (``ordinal``, from 1) and
    ``inconsistent``, true when the lines of the document disagree on a document field."""
    differing = " OR ".join(
        f"min({name}_text) <> max({name}_text)" for name in _DOCUMENT_TEXT_FIELDS
    )
    return f"""
        SELECT
            row_number() OVER (ORDER BY min(row_number)) AS ordinal,
            number, any_value(customer) AS customer, any_value(issue_date) AS issue_date,
            any_value(due_date) AS due_date, any_value(reference) AS reference,
            any_value(currency) AS currency, count(*) AS line_count,
            sum(net_amount) AS line_extension, sum(tax_amount) AS tax_total,
            any_value(total) AS total_given, any_value(tax_total) AS tax_total_given,
            any_value(balance) AS balance, min(service_date) AS first_service,
            hash(list(row_hash ORDER BY row_number)) AS raw_sha, {differing} AS inconsistent
        FROM typed
        GROUP BY number
    """


# True when a document needs the row-by-row path, which words the problem: its lines disagree
# on a document field, a stated total or tax total differs from the sum of its lines, or its
# total is negative.
_NEEDS_ROW_PATH = """
    SELECT coalesce(bool_or(
        inconsistent
        OR (total_given IS NOT NULL AND total_given <> line_extension + tax_total)
        OR (tax_total_given IS NOT NULL AND tax_total_given <> tax_total)
        OR line_extension + tax_total < 0
    ), false)
    FROM documents
"""


def _registry_tables(database: Any, registry: Registry, used: set[int], folder: Path) -> None:
    """Load the terms of the ``used`` contracts, their versions and lines into DuckDB."""
    terms_rows: list[tuple[Any, ...]] = []
    version_rows: list[tuple[Any, ...]] = []
    line_rows: list[tuple[Any, ...]] = []
    for contract_id in used:
        terms = registry.contracts_by_id[contract_id]
        step = terms.cadence.months
        terms_rows.append((contract_id, step, terms.billing_day, (terms.anchor_month - 1) % step))
        for position, version in enumerate(terms.versions):
            is_last = position == len(terms.versions) - 1
            version_rows.append(
                (version.id, contract_id, version.effective_from, version.last_day, is_last)
            )
            for key, (line_code, kind) in version.lines.items():
                line_rows.append((version.id, key, line_code, kind))
    tables: dict[str, tuple[str, list[tuple[Any, ...]]]] = {
        "terms": (
            "contract_id BIGINT, step INTEGER, billing_day INTEGER, phase INTEGER",
            terms_rows,
        ),
        "versions": (
            "version_id BIGINT, contract_id BIGINT, effective_from DATE, last_day DATE, "
            "is_last BOOLEAN",
            version_rows,
        ),
        "version_lines": (
            "version_id BIGINT, key VARCHAR, line_code VARCHAR, kind VARCHAR",
            line_rows,
        ),
    }  # fmt: skip
    for name, (columns, rows) in tables.items():
        _table_load(database, name, columns, rows, folder)


def _table_load(
    database: Any, name: str, columns: str, rows: list[tuple[Any, ...]], folder: Path
) -> None:
    """Create the DuckDB table ``name`` with ``columns`` and fill it with ``rows``."""
    file = folder / f"{name}.csv"
    with file.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(
            tuple("" if value is None else value for value in row) for row in rows
        )
    database.execute(f"CREATE TABLE {name} ({columns})")
    if rows:
        database.execute(
            f"INSERT INTO {name} SELECT * FROM read_csv(?, header = false, "
            "all_varchar = false, auto_detect = false, "
            f"columns = {_column_map(columns)}, nullstr = '')",
            [str(file)],
        )


def _csv_export(database: Any, query: str, file: Path) -> int:
    """Write the rows of ``query`` to ``file`` as CSV without a header; return their count."""
    result = database.execute(
        f"COPY ({query}) TO '{file}' (HEADER false, DELIMITER ',', QUOTE '\"')"
    ).fetchone()
    return int(result[0]) if result else 0


def _column_map(columns: str) -> str:
    pairs = [part.strip().split(" ", 1) for part in columns.split(",")]
    return "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in pairs) + "}"


def _period_start(day: str, step: str, billing_day: str, phase: str) -> str:
    """SQL for the first day of the billing period containing ``day`` (period_containing)."""
    month = f"(year({day}) * 12 + month({day}) - 1)"
    start = f"({month} - (({month} - {phase}) % {step} + {step}) % {step})"
    boundary = _BOUNDARY.format(m=start, day=billing_day)
    earlier = _BOUNDARY.format(m=f"{start} - {step}", day=billing_day)
    return f"(CASE WHEN {boundary} > {day} THEN {earlier} ELSE {boundary} END)"


def _period_end(start: str, step: str, billing_day: str) -> str:
    """SQL for the last day of the billing period that starts on ``start``."""
    month = f"(year({start}) * 12 + month({start}) - 1)"
    # A start clamped to a short month's end still belongs to that month's index.
    return f"({_BOUNDARY.format(m=f'{month} + {step}', day=billing_day)} - INTERVAL 1 DAY)::DATE"


def _line_sql(prefix: str) -> str:
    """SQL creating ``resolved``: every line with its contract line and service period.

    The period is computed in steps, each a column of its own, so that no expression is
    repeated inside another: the first day of the period containing the day, then the period
    before it for lines billed in arrears, then the last day.
    """
    step, billing_day, phase = "t.step", "t.billing_day", "t.phase"
    quoted_prefix = prefix.replace("'", "''")
    return f"""
        CREATE TABLE resolved AS
        WITH placed AS (
            SELECT t.*, d.contract_id, coalesce(t.service_date, t.issue_date) AS day,
                row_number() OVER (PARTITION BY t.number ORDER BY t.row_number) AS position
            FROM typed t LEFT JOIN document_contracts d ON d.number = t.number
        ),
        versioned AS (
            SELECT p.*, coalesce(v.version_id, last.version_id) AS version_id
            FROM placed p
            LEFT JOIN versions v ON v.contract_id = p.contract_id
                AND v.effective_from <= p.day AND (v.last_day IS NULL OR v.last_day >= p.day)
            LEFT JOIN versions last ON last.contract_id = p.contract_id AND last.is_last
        ),
        matched AS (
            SELECT p.*, coalesce(whole.line_code, tail.line_code) AS line_code,
                coalesce(whole.kind, tail.kind) AS kind,
                coalesce(k.step, 1) AS step, coalesce(k.billing_day, 1) AS billing_day,
                coalesce(k.phase, 0) AS phase
            FROM versioned p
            LEFT JOIN version_lines whole
                ON whole.version_id = p.version_id AND whole.key = lower(p.item_code)
            LEFT JOIN version_lines tail ON tail.version_id = p.version_id
                AND tail.key = regexp_extract(lower(p.item_code), '[^:]*$')
            LEFT JOIN terms k ON k.contract_id = p.contract_id
        ),
        first_period AS (
            SELECT t.*, {_period_start("t.day", step, billing_day, phase)} AS period_start
            FROM matched t
        ),
        shifted AS (
            SELECT t.*, CASE WHEN t.service_date IS NULL
                AND t.kind IN ('usage', 'time_and_materials')
                THEN (t.period_start - INTERVAL 1 DAY)::DATE END AS arrears_day
            FROM first_period t
        ),
        started AS (
            SELECT t.*, CASE WHEN t.arrears_day IS NULL THEN t.period_start
                ELSE {_period_start("t.arrears_day", step, billing_day, phase)} END AS start
            FROM shifted t
        )
        SELECT
            '{quoted_prefix}' || t.number AS external_id,
            t.position,
            left(t.item_code, 80) AS item_code,
            coalesce(t.line_code, '') AS line_code,
            left(t.description, 400) AS description,
            t.quantity,
            t.unit_price,
            t.net_amount,
            left(t.tax_code, 40) AS tax_code,
            TRY_CAST(nullif(regexp_extract(t.tax_code, '(\\d+(?:\\.\\d+)?)\\s*%', 1), '')
                AS DECIMAL(9, 4)) AS tax_rate,
            t.tax_amount,
            NULL AS discount_percent,
            left(t.account_code, 40) AS account_code,
            t.start AS service_start,
            {_period_end("t.start", step, billing_day)} AS service_end,
            t.contract_id
        FROM started t
    """
