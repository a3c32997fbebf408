"""Planner statistics of the tables a billing run fills, kept current while the run fills them.

PostgreSQL picks between an index scan and a full scan from the statistics of the last
ANALYZE. A billing run reads the invoices and lines that it and earlier runs issued, by
contract and by invoice id. While the statistics still describe the tables as they were before
the run (empty, for a first run), each of those reads scans the whole table. The tables grow
with every chunk, so a large run slows down as it goes. Autovacuum analyzes a table only after
10% of it changed, and not at all where it is turned off.

So after each chunk, the run analyzes those tables that grew to more than half again the size
that their statistics describe. A line table that grows from empty to 1M lines is analyzed
about a dozen times, each time in a fraction of a second, since ANALYZE reads a sample of fixed
size (300 rows per unit of default_statistics_target). SQLite needs none of this: its planner
uses an index for these reads without statistics.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection, transaction

from billguard.billing.models import Invoice, InvoiceLine, InvoiceTaxSubtotal
from billguard.checks.models import StoredFinding

logger = logging.getLogger(__name__)

# A table is analyzed when its pages outgrow GROWTH times the pages its statistics describe,
# plus MIN_NEW_PAGES (1 MiB of 8 KiB pages), so that a small table is not analyzed each time.
GROWTH = 1.5
MIN_NEW_PAGES = 128

# One ANALYZE at a time across the queue workers. The others go on with their next chunk.
_LOCK_KEY = 0x42474153  # "BGAS"


def grown_tables() -> list[str]:
    """Return the billing run's tables that outgrew the pages their planner statistics describe
    (by GROWTH and MIN_NEW_PAGES). On databases other than PostgreSQL, return an empty list."""
    if connection.vendor != "postgresql":
        return []
    tables = [
        model._meta.db_table for model in (Invoice, InvoiceLine, InvoiceTaxSubtotal, StoredFinding)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class"
            " WHERE relname = ANY(%s) AND relkind = 'r'"
            " AND relnamespace = to_regnamespace(current_schema())"
            " AND pg_relation_size(oid) / current_setting('block_size')::int"
            "  > %s * greatest(relpages, 0) + %s"
            " ORDER BY relname",
            [tables, GROWTH, MIN_NEW_PAGES],
        )
        return [name for (name,) in cursor.fetchall()]


def statistics_refresh() -> list[str]:
    """ANALYZE the tables that ``grown_tables`` returns, and return their names.

    Another process analyzing them already makes this one return at once with an empty list.
    A failure, such as a database user without the right to analyze, is logged and returns an
    empty list, so the run goes on with the statistics it has.
    """
    if connection.vendor != "postgresql":
        return []
    tables: list[str] = []
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            tables = grown_tables()
            if not tables:
                return []
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK_KEY])
            (locked,) = cursor.fetchone()
            if not locked:
                return []
            for table in tables:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    except DatabaseError as error:
        logger.warning(
            "refreshing the planner statistics of %s failed, the run goes on without: %s",
            ", ".join(tables) or "the billing tables",
            error,
        )
        return []
    logger.info("analyzed %s, which grew since their statistics", ", ".join(tables))
    return tables
