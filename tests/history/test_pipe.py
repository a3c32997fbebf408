"""The named pipe through which DuckDB hands a first import's documents to PostgreSQL's COPY.

Neither side may wait forever for the other: a writer that fails before it opens the pipe
ends the reading with its error, and a reader that stops early makes the writer fail.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest

from billguard.history.fast_import import _csv_write, _pipe_read


def rows_written(database: duckdb.DuckDBPyConnection, count: int) -> None:
    database.execute(
        "CREATE TABLE numbers AS SELECT range AS n, 'row ' || range AS label FROM range(?)",
        [count],
    )


def test_pipe_passes_every_row(tmp_path: Path) -> None:
    database = duckdb.connect()
    rows_written(database, 50_000)
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        _pipe_read(tmp_path / "numbers.csv") as (pipe, blocks),
    ):
        writer = pool.submit(_csv_write, database, "SELECT * FROM numbers ORDER BY n", pipe)
        text = b"".join(blocks(writer)).decode()
    writer.result(timeout=30)

    lines = text.splitlines()
    assert len(lines) == 50_000
    assert lines[0] == "0,row 0"
    assert lines[-1] == "49999,row 49999"


def test_pipe_reports_writer_failing_early(tmp_path: Path) -> None:
    database = duckdb.connect()
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        _pipe_read(tmp_path / "numbers.csv") as (pipe, blocks),
    ):
        writer = pool.submit(_csv_write, database, "SELECT * FROM no_such_table", pipe)
        with pytest.raises(duckdb.CatalogException, match="no_such_table"):
            list(blocks(writer))


def test_pipe_closed_early_fails_writer(tmp_path: Path) -> None:
    database = duckdb.connect()
    rows_written(database, 2_000_000)
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        _pipe_read(tmp_path / "numbers.csv") as (pipe, blocks),
    ):
        writer = pool.submit(_csv_write, database, "SELECT * FROM numbers", pipe)
        first = next(blocks(writer))

    assert first
    with pytest.raises(duckdb.Error):
        writer.result(timeout=30)
