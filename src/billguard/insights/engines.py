"""The engines that run the leakage audit's SQL: DuckDB over copied tables, or PostgreSQL.

The DuckDB engine copies the audited tables into an in-memory DuckDB database through one CSV
file per table: from PostgreSQL with COPY, from SQLite through the ORM. SQLite has no exact
decimal arithmetic because its NUMERIC columns hold floats, so there every value is written
as text and read back with its exact type. The PostgreSQL engine runs the statements on
Django's connection, in one transaction, over temporary tables.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import psycopg
from django.db import connection, models, transaction

from billguard.history.models import ImportedInvoice, ImportedInvoiceLine
from billguard.registry.models import (
    Contract,
    ContractLine,
    ContractVersion,
    Discount,
    Document,
    Party,
    PriceListItem,
    ScheduledPriceChange,
)

logger = logging.getLogger(__name__)

# The tables the audit reads, with the fields it reads of each, largest first: each table is
# loaded into DuckDB while the next one is exported, so the last export should be a small one.
# Every field of a contract version is copied, because the mandatory fields come from the
# control policy.
AUDITED_FIELDS: tuple[tuple[type[models.Model], tuple[str, ...] | None], ...] = (
    (
        ImportedInvoiceLine,
        (
            "id",
            "invoice",
            "line_code",
            "quantity",
            "unit_price",
            "net_amount",
            "service_start",
            "service_end",
        ),
    ),
    (
        ImportedInvoice,
        (
            "id",
            "document_type",
            "customer_name",
            "party",
            "bill_to",
            "contract",
            "issue_date",
            "currency",
            "line_extension",
        ),
    ),
    (
        ContractLine,
        ("id", "version", "line_code", "kind", "product_code", "quantity", "unit_price"),
    ),
    (ContractVersion, None),
    (Contract, ("id", "number", "party", "contract_type")),
    (Document, ("id", "signed_on")),
    (Party, ("id", "name")),
    (Discount, None),
    (ScheduledPriceChange, None),
    (PriceListItem, None),
)

NULL_MARK = "\\N"

# PostgreSQL's div() truncates. The audit divides only numbers of 0 or more by numbers above
# 0, where floor division gives the same result. DuckDB 2.0 divides HUGEINT bit by bit, about
# four times slower than this macro on a million rows. The macro takes the DOUBLE quotient q
# and corrects it by one where q * b > a or (q + 1) * b <= a, in exact HUGEINT products.
# Below 10^15 the DOUBLE quotient is within one of the exact one (DOUBLE has 53 bits, about
# 9 * 10^15), so the result is exact. Larger quotients take the exact HUGEINT division.
DIV_MACRO = """
CREATE MACRO div(a, b) AS (
    CASE
        WHEN CAST(a AS DOUBLE) < CAST(b AS DOUBLE) * 1e15 THEN
            CAST(floor(CAST(a AS DOUBLE) / CAST(b AS DOUBLE)) AS HUGEINT)
            - CASE
                WHEN CAST(floor(CAST(a AS DOUBLE) / CAST(b AS DOUBLE)) AS HUGEINT) * b > a
                    THEN 1 ELSE 0
              END
            + CASE
                WHEN (CAST(floor(CAST(a AS DOUBLE) / CAST(b AS DOUBLE)) AS HUGEINT) + 1) * b <= a
                    THEN 1 ELSE 0
              END
        ELSE a // b
    END
)
"""
_CREATED_TABLE = re.compile(r"CREATE TEMPORARY TABLE (\w+)")


class Engine(Protocol):
    dialect: str

    def execute(self, sql: str) -> None: ...

    def fetch(self, sql: str) -> list[tuple[Any, ...]]: ...


class PostgresEngine:
    dialect = "postgresql"

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def execute(self, sql: str) -> None:
        self.cursor.execute(sql)
        created = _CREATED_TABLE.search(sql)
        if created:
            # Autovacuum never analyzes temporary tables, and the planner needs their sizes.
            self.cursor.execute(f"ANALYZE {created[1]}")

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        self.cursor.execute(sql)
        return list(self.cursor.fetchall())


class DuckEngine:
    dialect = "duckdb"

    def __init__(self, database: Any) -> None:
        self.database = database

    def execute(self, sql: str) -> None:
        self.database.execute(sql)

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return list(self.database.execute(sql).fetchall())


ENGINES = ("auto", "postgresql", "duckdb")


@contextmanager
def audit_engine(engine: str = "auto") -> Iterator[Engine]:
    """Yield the engine that runs the audit, with the audited tables readable in it.

    ``auto`` is DuckDB: on SQLite it is the only engine with exact decimals, and on
    PostgreSQL handing the tables to it by COPY and auditing there is faster than the
    temporary tables of the PostgreSQL engine (docs/benchmarks.md). ``postgresql`` runs the
    SQL in the PostgreSQL database itself.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown audit engine {engine!r}; expected one of {ENGINES}")
    if engine == "postgresql":
        if connection.vendor != "postgresql":
            raise ValueError("the postgresql audit engine needs a PostgreSQL database")
        with transaction.atomic(), connection.cursor() as cursor:
            # Compiling the long date expressions costs more than the JIT would save.
            cursor.execute("SET LOCAL jit = off")
            yield PostgresEngine(cursor)
        return
    import duckdb

    database = duckdb.connect(":memory:")
    try:
        database.execute(DIV_MACRO)
        # No statement of the audit depends on row order, and keeping it costs memory.
        database.execute("SET preserve_insertion_order = false")
        opens_transaction = not connection.in_atomic_block
        with (
            tempfile.TemporaryDirectory(prefix="billguard-leakage-") as folder,
            transaction.atomic(),
        ):
            if connection.vendor == "postgresql" and opens_transaction:
                # One snapshot for every COPY, so that an import committed between two copies
                # cannot show in some tables only (READ COMMITTED takes one per statement).
                # Inside a caller's transaction the caller's isolation level applies.
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            _copy_tables(database, Path(folder))
        yield DuckEngine(database)
    finally:
        database.close()


def _copy_tables(database: Any, folder: Path) -> None:
    """Export each audited table to CSV and load it into DuckDB.

    A second DuckDB connection loads each file on a worker thread while this thread exports the
    next table. The DuckDB Python client releases the GIL while a statement runs, so the two
    overlap.
    """
    with ThreadPoolExecutor(max_workers=1) as loader:
        loads: list[Future[None]] = []
        try:
            for model, names in AUDITED_FIELDS:
                fields, path = _export_table(model, names, folder)
                loads.append(loader.submit(_load_table, database, model, fields, path))
        finally:
            for load in loads:
                load.result()


def _export_table(
    model: type[models.Model], names: tuple[str, ...] | None, folder: Path
) -> tuple[list[models.Field[Any, Any]], Path]:
    fields = [
        field
        for field in model._meta.concrete_fields
        if not isinstance(field, models.JSONField | models.DateTimeField)
        and (names is None or field.name in names)
    ]
    table = model._meta.db_table
    path = folder / f"{table}.csv"
    columns = [field.column for field in fields]
    if connection.vendor == "postgresql":
        _export_postgres(table, columns, path)
    else:
        rows = model._default_manager.order_by().values_list(*[f.attname for f in fields])
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows.iterator(chunk_size=5000):
                writer.writerow([_text(value) for value in row])
    return fields, path


def _load_table(
    database: Any, model: type[models.Model], fields: list[models.Field[Any, Any]], path: Path
) -> None:
    table = model._meta.db_table
    types = ", ".join(f"'{field.column}': '{_duck_type(field)}'" for field in fields)
    # The table and column names come from the model's metadata, never from input.
    with database.cursor() as loader:
        loader.execute(
            f"CREATE TABLE {table} AS SELECT * FROM read_csv(?, header = true, "  # noqa: S608
            f"nullstr = ?, quote = '\"', escape = '\"', columns = {{{types}}})",
            [str(path), NULL_MARK],
        )
    logger.debug("copied %s into DuckDB", table)


def _export_postgres(table: str, columns: list[str], path: Path) -> None:
    """Write the table as CSV with PostgreSQL's COPY, never parsing a row in Python.

    The server sends one message per row, so the rows are read with libpq's PQgetCopyData in a
    plain loop, which took about half the CPU of iterating over psycopg's ``Copy`` object on
    1M invoice lines (psycopg 3.3).
    """
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    # The table and column names come from the model's metadata, never from input.
    sql = (
        f"COPY (SELECT {names} FROM {connection.ops.quote_name(table)}) "  # noqa: S608
        f"TO STDOUT (FORMAT csv, HEADER true, NULL '{NULL_MARK}')"
    )
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    pgconn.send_query(sql.encode())
    started = pgconn.get_result()
    if started is None or started.status != psycopg.pq.ExecStatus.COPY_OUT:
        _discard_results(pgconn)
        raise psycopg.OperationalError(f"COPY of {table} failed: {_error_of(pgconn, started)}")
    read = pgconn.get_copy_data
    with path.open("wb") as handle:
        write = handle.write
        while True:
            size, block = read(0)
            if size < 0:
                break
            write(block)
    finished = pgconn.get_result()
    _discard_results(pgconn)
    if size == -2 or finished is None or finished.status != psycopg.pq.ExecStatus.COMMAND_OK:
        raise psycopg.OperationalError(f"COPY of {table} failed: {_error_of(pgconn, finished)}")


def _discard_results(pgconn: Any) -> None:
    while pgconn.get_result() is not None:
        pass


def _error_of(pgconn: Any, result: Any) -> str:
    message = result.error_message if result is not None else b""
    return (message or pgconn.error_message or b"no error message").decode(errors="replace")


def _text(value: object) -> str:
    if value is None:
        return NULL_MARK
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _duck_type(field: models.Field[Any, Any]) -> str:
    if isinstance(field, models.DecimalField):
        return f"DECIMAL({field.max_digits}, {field.decimal_places})"
    if isinstance(field, models.BooleanField):
        return "BOOLEAN"
    if isinstance(field, models.DateField):
        return "DATE"
    if isinstance(field, models.AutoField | models.IntegerField | models.ForeignKey):
        return "BIGINT"
    return "VARCHAR"


def run_statements(engine: Engine, statements: Sequence[str]) -> None:
    for statement in statements:
        engine.execute(statement)
