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
import hashlib
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import connection

from billguard.domain.currencies import _MINOR_UNITS
from billguard.history.layouts import CREDIT_NOTES, XERO, Layout
from billguard.history.parsing import ParsedDocument, column_index
from billguard.history.reading import Sheet
from billguard.history.resolution import Registry
from billguard.history.storage import (
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
    registry: Registry,
    invoice_terms: dict[str, tuple[int | None, int | None, int | None]],
    stored: dict[str, str],
    prefix: str,
    counts: KindCounts,
    outcome: ImportOutcome,
    write: dict[str, Any],
) -> bool:
    """Import the file, or return False, having written nothing, when a row needs the
    row-by-row path.

    ``stored`` maps the external ids of this source's stored documents to their digests.
    ``write`` contains the source, import id and time that documents_write takes.
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
        columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header)))
        database.execute(
            f"CREATE TABLE raw AS SELECT * FROM read_csv(?, header = true, delim = ',', "
            f"quote = '\"', escape = '\"', columns = {{{columns}}}, null_padding = true, "
            "strict_mode = true)",
            [str(path)],
        )
        _typed_view(database, index, len(header), layout, date_order, default_currency)
        if database.execute("SELECT count(*) FROM typed WHERE NOT ok").fetchone()[0]:  # type: ignore[index]
            return False
        documents = database.execute(_documents_query()).fetchall()
        # The last column is true where the lines of a document disagree on a document field.
        if any(row[-1] for row in documents):
            return False
        if any(row[10] is not None and row[10] != row[8] + row[9] for row in documents):
            return False
        if any(row[11] is not None and row[11] != row[9] for row in documents):
            return False
        if any(row[8] + row[9] < 0 for row in documents):
            return False

        kind = "credit_note" if layout.kind == CREDIT_NOTES else "invoice"
        headers: list[tuple[Any, ...]] = []
        contracts: list[tuple[str, int]] = []
        credited_numbers: dict[str, str] = {}
        new_lines = 0
        from billguard.history.services import document_header, resolve_document

        for row in documents:
            (number, customer, issue_date, due_date, reference, currency, first_row,
             line_count, line_extension, tax_total, _total, _tax_total, balance, first_service,
             raw_sha, _inconsistent) = row  # fmt: skip
            document = ParsedDocument(
                kind, number, customer, issue_date, due_date, reference, currency, first_row,
                None, None, balance, (), line_extension=line_extension, tax_total=tax_total,
            )  # fmt: skip
            counts.read += 1
            counts.lines += line_count
            resolution = registry.resolve_fields(customer, reference, first_service or issue_date)
            resolution, credited = resolve_document(
                document, resolution, registry, invoice_terms, outcome
            )
            if resolution.contract is not None:
                contracts.append((number, resolution.contract.id))
            header_fields = document_header(document, resolution)
            signature = registry.contract_signature(resolution.contract)
            digest = hashlib.sha256(
                f"{raw_sha}|{header_fields!r}|{credited}|{signature}".encode()
            ).hexdigest()
            external_id = prefix + number
            if credited:
                outcome.credit_notes_linked += 1
            if stored.get(external_id) == digest:
                counts.unchanged += 1
                continue
            counts.updated += external_id in stored
            counts.created += external_id not in stored
            headers.append((external_id, *header_fields, digest))
            new_lines += line_count
            if credited:
                credited_numbers[external_id] = credited

        # When no document of the file is stored, copy straight into the final tables.
        copy_new = bool(headers) and not any(header[0] in stored for header in headers)
        with tempfile.TemporaryDirectory(prefix="billguard-history-") as folder:
            lines_file = Path(folder) / "lines.csv"
            query = "SELECT * EXCLUDE (contract_id) FROM resolved"
            if copy_new:
                ids = invoice_ids_reserve(len(headers))
                database.execute(
                    "CREATE TABLE document_ids AS "
                    "SELECT unnest($1::VARCHAR[]) AS external_id, unnest($2::BIGINT[]) AS id",
                    [[header[0] for header in headers], ids],
                )
                query = (
                    "SELECT d.id, r.* EXCLUDE (external_id, contract_id) FROM resolved r "
                    "JOIN document_ids d ON d.external_id = r.external_id"
                )
            rebuild: list[str] = []
            with ThreadPoolExecutor(max_workers=1) as pool:
                # DuckDB resolves and writes the lines while PostgreSQL stores the documents
                # and checks their foreign keys. DuckDB releases the GIL while it runs.
                lines_export = pool.submit(
                    _lines_export, database, registry, contracts, prefix,
                    query if headers else None, lines_file,
                )  # fmt: skip
                if copy_new:
                    rebuild = documents_copy_new(
                        headers=[(id_, *header) for header, id_ in zip(headers, ids, strict=True)],
                        line_count=new_lines, **write,
                    )  # fmt: skip
                outcome.lines_without_contract_line += lines_export.result()
            if copy_new:
                lines_copy_new(
                    source=write["source"], lines_csv=lines_file, rebuild=rebuild,
                    ids=dict(zip((header[0] for header in headers), ids, strict=True)),
                    credited=credited_numbers,
                )  # fmt: skip
            elif headers:
                documents_write(
                    headers=headers, lines={}, lines_csv=lines_file,
                    credited=credited_numbers, **write,
                )  # fmt: skip
    finally:
        database.close()
    return True


def _lines_export(
    database: Any,
    registry: Registry,
    contracts: list[tuple[str, int]],
    prefix: str,
    query: str | None,
    file: Path,
) -> int:
    """Create ``resolved`` (see _line_sql), write the rows of ``query`` to ``file`` when a
    query is given, and return the number of lines without a contract line."""
    _registry_tables(database, registry, contracts, file.parent)
    database.execute(_line_sql(prefix))
    (without_line,) = database.execute(
        "SELECT count(*) FROM resolved WHERE line_code = ''"
    ).fetchone()
    if query is not None:
        _csv_export(database, query, file)
    return int(without_line)


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
    """SQL for one row per document, in file order, ending with a column that is true when
    the lines of the document disagree on a document field."""
    differing = " OR ".join(
        f"min({name}_text) <> max({name}_text)" for name in _DOCUMENT_TEXT_FIELDS
    )
    return f"""
        SELECT
            number, any_value(customer), any_value(issue_date), any_value(due_date),
            any_value(reference), any_value(currency), min(row_number), count(*),
            sum(net_amount), sum(tax_amount), any_value(total), any_value(tax_total),
            any_value(balance), min(service_date),
            hash(list(row_hash ORDER BY row_number)), {differing}
        FROM typed
        GROUP BY number
        ORDER BY min(row_number)
    """


def _registry_tables(
    database: Any, registry: Registry, contracts: list[tuple[str, int]], folder: Path
) -> None:
    """Load the documents' contracts, the contracts' terms and their lines into DuckDB."""
    used = {contract_id for _, contract_id in contracts}
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
        "document_contracts": ("number VARCHAR, contract_id BIGINT", list(contracts)),
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
