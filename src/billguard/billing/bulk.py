"""Fast inserts of many rows: COPY on PostgreSQL, executemany on SQLite.

``bulk_create`` builds a model instance and an SQL parameter per value, which costs more
than the billing run's checks for its many invoice lines. Rows given here go to the table
as they are, without model validation, signals or ids returned. Values must already be what
the model fields store: str, int, bool, Decimal, date, an aware datetime, a dict or list for
a JSONField, or None.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models.fields import AutoFieldMixin

ModelT = TypeVar("ModelT", bound=models.Model)

SQLITE_BATCH_ROWS = 5000

Converter = Callable[[Any], Any]


def rows_insert(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert ``rows`` (values in the order of ``fields``) into ``model``'s table.

    Returns the number of rows inserted. Runs in the caller's transaction.
    """
    meta = model._meta
    columns = [meta.get_field(name).column for name in fields]  # type: ignore[union-attr]
    converters = [_converter(meta.get_field(name)) for name in fields]
    table = connection.ops.quote_name(meta.db_table)
    column_list = ", ".join(connection.ops.quote_name(str(column)) for column in columns)
    if connection.vendor == "postgresql":
        return _copy(f"COPY {table} ({column_list}) FROM STDIN", converters, rows)
    placeholders = ", ".join(["%s"] * len(columns))
    # The table and column names come from the model; the values go as parameters.
    sql = f"INSERT INTO {table} ({column_list}) VALUES ({placeholders})"  # noqa: S608
    return _execute_many(sql, converters, rows)


def instances_insert(model: type[ModelT], instances: Sequence[ModelT]) -> list[ModelT]:
    """Insert unsaved ``instances`` as ``bulk_create`` does, and give each its primary key.

    On PostgreSQL, ``bulk_create`` sends each column as an array literal that psycopg quotes
    value by value on the client, which for the long texts and JSON of invoices and audit
    entries costs more than the insert itself. Here the primary keys are taken from the
    table's sequence in one query and the rows go in with COPY. The values are those
    ``bulk_create`` would store: each field's ``pre_save`` (so ``auto_now_add`` is set) and
    ``get_db_prep_save``. Other databases use ``bulk_create``.
    """
    if connection.vendor != "postgresql" or not instances:
        return model._default_manager.bulk_create(instances)
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    keyless = [instance for instance in instances if getattr(instance, pk.attname) is None]
    if keyless and isinstance(pk, AutoFieldMixin):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, pk.column, len(keyless)],
            )
            for instance, (value,) in zip(keyless, cursor.fetchall(), strict=True):
                setattr(instance, pk.attname, value)
    fields = meta.concrete_fields
    table = connection.ops.quote_name(meta.db_table)
    column_list = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    rows = (
        tuple(
            field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields
        )
        for instance in instances
    )
    _copy(f"COPY {table} ({column_list}) FROM STDIN", [None] * len(fields), rows)
    for instance in instances:
        instance._state.adding = False
        instance._state.db = connection.alias
    return list(instances)


def _converter(field: Any) -> Converter | None:
    if isinstance(field, models.JSONField):
        return _json_text
    if isinstance(field, models.DateTimeField) and connection.vendor != "postgresql":
        return connection.ops.adapt_datetimefield_value
    return None


def _json_text(value: Any) -> str | None:
    # JSONField stores json.dumps(value) with its default encoder, as here.
    return None if value is None else json.dumps(value)


def _prepared(row: Sequence[Any], converters: list[Converter | None]) -> tuple[Any, ...]:
    return tuple(
        value if convert is None else convert(value)
        for value, convert in zip(row, converters, strict=True)
    )


def _copy(sql: str, converters: list[Converter | None], rows: Iterable[Sequence[Any]]) -> int:
    plain = all(convert is None for convert in converters)
    count = 0
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row if plain else _prepared(row, converters))
            count += 1
    return count


def _execute_many(
    sql: str, converters: list[Converter | None], rows: Iterable[Sequence[Any]]
) -> int:
    count = 0
    batch: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(_prepared(row, converters))
            if len(batch) == SQLITE_BATCH_ROWS:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count
