"""Where the leakage audit's SQL runs: PostgreSQL itself, or DuckDB with the SQLite tables copied.

On PostgreSQL the statements run on Django's connection, in one transaction, over temporary
tables. SQLite has no exact decimal arithmetic (its NUMERIC columns hold floats), so for the
embedded database the audited tables are copied into an in-memory DuckDB database through a
CSV file per table, with every value as text and cast back to its exact type there.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

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

# The models whose tables the audit reads.
AUDITED_MODELS: tuple[type[models.Model], ...] = (
    Contract,
    ContractVersion,
    ContractLine,
    Discount,
    ScheduledPriceChange,
    PriceListItem,
    Document,
    Party,
    ImportedInvoice,
    ImportedInvoiceLine,
)

NULL_MARK = "\\N"
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


@contextmanager
def audit_engine() -> Iterator[Engine]:
    """Yield the engine for the configured database, with the audited tables readable."""
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            yield PostgresEngine(cursor)
        return
    import duckdb

    database = duckdb.connect(":memory:")
    try:
        # PostgreSQL's div() truncates; the audit divides only numbers of 0 or more, where
        # DuckDB's floor division gives the same result.
        database.execute("CREATE MACRO div(a, b) AS (a // b)")
        with tempfile.TemporaryDirectory(prefix="billguard-leakage-") as folder:
            for model in AUDITED_MODELS:
                _copy_table(database, model, Path(folder))
        yield DuckEngine(database)
    finally:
        database.close()


def _copy_table(database: Any, model: type[models.Model], folder: Path) -> None:
    fields = [
        field
        for field in model._meta.concrete_fields
        if not isinstance(field, models.JSONField | models.DateTimeField)
    ]
    table = model._meta.db_table
    path = folder / f"{table}.csv"
    columns = [field.column for field in fields]
    rows = model._default_manager.order_by().values_list(*[field.attname for field in fields])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows.iterator(chunk_size=5000):
            writer.writerow([_text(value) for value in row])
    casts = ", ".join(
        f"CAST({_quoted(field.column)} AS {_duck_type(field)}) AS {_quoted(field.column)}"
        for field in fields
    )
    # The table and column names come from the model's metadata, never from input.
    database.execute(
        f"CREATE TABLE {table} AS SELECT {casts} FROM read_csv(?, header = true, "  # noqa: S608
        f"all_varchar = true, nullstr = ?, quote = '\"', escape = '\"')",
        [str(path), NULL_MARK],
    )
    logger.debug("copied %s into DuckDB", table)


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
