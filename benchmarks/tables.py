"""Writing generated rows straight into the tables of the Django models.

On PostgreSQL each table is one ``COPY ... FROM STDIN`` (psycopg 3 ``cursor.copy``); on
SQLite rows go in with ``executemany`` in batches. Neither runs model validation or signals:
the generator is trusted to write rows the services would accept.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.apps import apps
from django.core.management.color import no_style
from django.db import connection, models

SQLITE_BATCH_ROWS = 10_000


@dataclass
class Table:
    """Rows for one model: ``fields`` names the model fields (a foreign key by its name)."""

    model_label: str
    fields: tuple[str, ...]
    rows: Iterable[tuple[object, ...]]

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

    def columns(self) -> list[str]:
        meta = self.model._meta
        named = [str(meta.get_field(name).column) for name in self.fields]  # type: ignore[union-attr]
        return named + [column for column, _ in self.defaults()]

    def defaults(self) -> list[tuple[str, object]]:
        """(column, value) of the NOT NULL fields the generator leaves out, at their defaults.

        The database has no column defaults (Django sets them in Python), so a field added to
        a model later gets its default here instead of failing the insert.
        """
        result: list[tuple[str, object]] = []
        for field in self.model._meta.concrete_fields:
            if field.name in self.fields or field.attname in self.fields or field.null:
                continue
            value = field.get_default()
            if value is None or field.primary_key:
                continue
            if isinstance(field, models.JSONField):
                value = json.dumps(value)
            result.append((str(field.column), value))
        return result

    def full_rows(self) -> Iterator[tuple[object, ...]]:
        extra = tuple(value for _, value in self.defaults())
        if not extra:
            yield from self.rows
            return
        for row in self.rows:
            yield (*row, *extra)


@dataclass(frozen=True)
class TableWritten:
    model_label: str
    rows: int
    seconds: float


def write_tables(tables: list[Table]) -> list[TableWritten]:
    """Insert every table in order, then move the id sequences past the ids written."""
    written = []
    for table in tables:
        started = time.perf_counter()
        count = _copy_rows(table) if connection.vendor == "postgresql" else _insert_rows(table)
        written.append(TableWritten(table.model_label, count, time.perf_counter() - started))
    reset_sequences([table.model for table in tables])
    return written


def reset_sequences(model_list: list[type[models.Model]]) -> None:
    """Set each id sequence past the largest id, as ``manage.py sqlsequencereset`` does."""
    statements = connection.ops.sequence_reset_sql(no_style(), model_list)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _quoted(names: list[str]) -> str:
    return ", ".join(connection.ops.quote_name(name) for name in names)


def _copy_rows(table: Table) -> int:
    sql = (
        f"COPY {connection.ops.quote_name(table.model._meta.db_table)} "
        f"({_quoted(table.columns())}) FROM STDIN"
    )
    count = 0
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in table.full_rows():
            copy.write_row(row)
            count += 1
    return count


def _insert_rows(table: Table) -> int:
    columns = table.columns()
    placeholders = ", ".join(["%s"] * len(columns))
    # Table and column names come from the model's metadata, and values go as parameters.
    sql = (
        f"INSERT INTO {connection.ops.quote_name(table.model._meta.db_table)} "  # noqa: S608
        f"({_quoted(columns)}) VALUES ({placeholders})"
    )
    count = 0
    with connection.cursor() as cursor:
        for batch in _batches(table.full_rows(), SQLITE_BATCH_ROWS):
            cursor.executemany(sql, [_sqlite_values(row) for row in batch])  # type: ignore[misc]
            count += len(batch)
    return count


def _sqlite_values(row: tuple[object, ...]) -> tuple[object, ...]:
    # Django stores aware datetimes in SQLite as naive UTC text; dates and decimals go through
    # the adapters that Django's SQLite backend registers.
    return tuple(
        connection.ops.adapt_datetimefield_value(value) if isinstance(value, dt.datetime) else value
        for value in row
    )


def _batches(rows: Iterable[tuple[object, ...]], size: int) -> Iterator[list[tuple[object, ...]]]:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, size)):
        yield batch
