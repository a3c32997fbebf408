"""The floor the billing run is measured against: a bare PostgreSQL COPY of its output rows.

The rows are shaped like the ``billing_invoiceline`` rows of the book (same columns, types and
values). They are built in memory before the clock starts. The timed part is what psycopg and
the server need to take that many rows from Python: ``cursor.copy`` with ``write_row`` into a
scratch table made with ``LIKE billing_invoiceline INCLUDING ALL`` (its primary key and indexes,
not its foreign key), and the commit.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

from django.db import connection, transaction

from benchmarks.book import TAX_RATE, BookSize, contract_lines

SCRATCH_TABLE = "bench_copy_scratch"
COLUMNS = (
    "invoice_id",
    "position",
    "line_code",
    "kind",
    "description",
    "quantity",
    "unit_code",
    "unit_price",
    "discount_percent",
    "net_amount",
    "gl_account",
    "tax_category",
    "tax_rate",
    "exemption_reason",
    "service_start",
    "service_end",
)


def invoice_line_rows(size: BookSize, period_start: dt.date) -> list[tuple[object, ...]]:
    """Return one row per line that a monthly run of the book bills, in memory."""
    period_end = _month_end(period_start)
    arrears_end = period_start - dt.timedelta(days=1)
    arrears_start = arrears_end.replace(day=1)
    rows: list[tuple[object, ...]] = []
    for j in range(1, size.contracts + 1):
        for position, line in enumerate(contract_lines(j, size), start=1):
            fixed = line.kind == "recurring_fixed"
            quantity = line.quantity if line.quantity is not None else Decimal(350)
            rows.append(
                (
                    j,
                    position,
                    line.code,
                    line.kind,
                    line.description,
                    quantity,
                    line.unit_code,
                    line.unit_price,
                    None,
                    (quantity * line.unit_price).quantize(Decimal("0.01")),
                    line.gl_account,
                    "S",
                    TAX_RATE,
                    "",
                    period_start if fixed else arrears_start,
                    period_end if fixed else arrears_end,
                )
            )
    return rows


def time_copy(rows: list[tuple[object, ...]]) -> float:
    """COPY ``rows`` into a fresh scratch table and return the seconds it took, commit included."""
    if connection.vendor != "postgresql":
        raise RuntimeError("the COPY floor is measured on PostgreSQL only")
    quoted = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {quoted(SCRATCH_TABLE)}")
        cursor.execute(
            f"CREATE TABLE {quoted(SCRATCH_TABLE)} "
            f"(LIKE {quoted('billing_invoiceline')} INCLUDING ALL)"
        )
    sql = f"COPY {quoted(SCRATCH_TABLE)} ({', '.join(quoted(c) for c in COLUMNS)}) FROM STDIN"
    connection.ensure_connection()
    started = time.perf_counter()
    with (
        transaction.atomic(),
        connection.connection.cursor() as cursor,
        cursor.copy(sql) as copy,
    ):
        for row in rows:
            copy.write_row(row)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {quoted(SCRATCH_TABLE)}")
    return seconds


def _month_end(day: dt.date) -> dt.date:
    """Return the last day of ``day``'s month."""
    following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)
