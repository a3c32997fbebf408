"""A long ``billguard run`` writes its files in a second process on PostgreSQL.

The ten seeded contracts (tests/billing/seed.py) run in chunks of one contract: eight chunks,
since a customer's contracts share a chunk, and enough for an output process. On SQLite the
run writes its own files.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection

from tests.billing.harness import (
    ScratchDatabase,
    billguard_start,
    fault_wait,
    process_kill,
)
from tests.billing.seed import SEEDED_CONTRACTS, SEEDED_HELD, SEEDED_PERIOD

RUN = ("run", "--period", SEEDED_PERIOD, "--chunk-size", "1")
CLEAN = len(SEEDED_CONTRACTS) - len(SEEDED_HELD)
STARTED = "output files written by process"


def files_of_issued(database: ScratchDatabase, var_dir: Path) -> dict[str, tuple[bool, bool]]:
    """Whether the UBL file and the journal of each issued invoice exist, by number."""
    rows = database.rows(
        "SELECT i.number, s.code FROM billing_invoice i "
        "JOIN registry_sellerentity s ON s.id = i.seller_entity_id WHERE i.status = 'issued'"
    )
    folder = var_dir / "invoices"
    return {
        number: (
            (folder / code / f"{number}.xml").exists(),
            (folder / code / f"{number}.journal.csv").exists(),
        )
        for number, code in rows
    }


def run_to_end(database: ScratchDatabase, var_dir: Path, log: Path, **env: str) -> str:
    process = billguard_start(database, var_dir, log, *RUN, **env)
    try:
        process.wait(timeout=120)
    finally:
        process_kill(process)
    # Three drafts are held, so the run ends with exit status 1.
    assert process.returncode == 1, log.read_text()
    return log.read_text()


def test_long_run_writes_every_file(
    contracts_template: ScratchDatabase,
    scratch: Callable[[ScratchDatabase], ScratchDatabase],
    tmp_path: Path,
):
    database = scratch(contracts_template)
    var_dir = tmp_path / "var"

    output = run_to_end(database, var_dir, tmp_path / "run.log")

    files = files_of_issued(database, var_dir)
    assert len(files) == CLEAN
    assert all(ubl and journal for ubl, journal in files.values()), files
    assert (STARTED in output) is (database.vendor == "postgresql"), output


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="only runs on PostgreSQL have an output process"
)
def test_killed_output_process_leaves_no_file_missing(
    contracts_template: ScratchDatabase,
    scratch: Callable[[ScratchDatabase], ScratchDatabase],
    tmp_path: Path,
):
    database = scratch(contracts_template)
    var_dir = tmp_path / "var"
    fault_file = tmp_path / "fault"
    log = tmp_path / "run.log"
    process = billguard_start(
        database,
        var_dir,
        log,
        *RUN,
        BILLGUARD_FAULT_POINT="writer",
        BILLGUARD_FAULT_AFTER_CHUNKS="1",
        BILLGUARD_FAULT_FILE=str(fault_file),
    )
    try:
        writer_pid, _ = fault_wait(fault_file, process, log)
        # The writer, not the run's process, reached the point: kill it alone.
        assert writer_pid != process.pid
        os.kill(writer_pid, signal.SIGKILL)
        process.wait(timeout=120)
    finally:
        process_kill(process)

    output = log.read_text()
    assert process.returncode == 1, output
    assert "the output process ended with exit code -9" in output
    files = files_of_issued(database, var_dir)
    assert len(files) == CLEAN
    assert all(ubl and journal for ubl, journal in files.values()), files
