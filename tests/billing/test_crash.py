"""A ``billguard run`` process killed with SIGKILL mid-chunk, then started again.

The run is a real subprocess on a scratch copy of the ten seeded contracts (tests/billing/
seed.py), in chunks of three: [C-001, C-009], [C-002, C-003, C-010], [C-004, C-005, C-006],
[C-007, C-008]. The fault hook stops it in the second chunk at the named point, and the test
kills it there. The database is a SQLite file when the test settings use SQLite, else a
PostgreSQL database of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.billing.conftest import ReferenceRun
from tests.billing.harness import (
    ScratchDatabase,
    assert_gapless,
    billguard,
    billguard_start,
    fault_wait,
    process_kill,
    snapshot,
)
from tests.billing.seed import SEEDED_CONTRACTS, SEEDED_HELD, SEEDED_PERIOD

RUN = ("run", "--period", SEEDED_PERIOD, "--chunk-size", "3")
CLEAN = len(SEEDED_CONTRACTS) - len(SEEDED_HELD)


def issued_journals(database: ScratchDatabase, var_dir: Path) -> dict[str, bool]:
    """Whether the journal file of each issued invoice exists, by invoice number."""
    rows = database.rows(
        "SELECT i.number, s.code FROM billing_invoice i "
        "JOIN registry_sellerentity s ON s.id = i.seller_entity_id WHERE i.status = 'issued'"
    )
    folder = var_dir / "invoices"
    return {number: (folder / code / f"{number}.journal.csv").exists() for number, code in rows}


@pytest.mark.parametrize("point", ["drafting", "checks", "issuing", "outputs"])
def test_killed_run_completes_on_restart(
    point: str,
    contracts_template: ScratchDatabase,
    scratch: Callable[[ScratchDatabase], ScratchDatabase],
    contracts_reference: ReferenceRun,
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
        BILLGUARD_FAULT_POINT=point,
        BILLGUARD_FAULT_AFTER_CHUNKS="1",
        BILLGUARD_FAULT_FILE=str(fault_file),
    )
    try:
        pid, _ = fault_wait(fault_file, process, log)
        assert pid == process.pid
    finally:
        process_kill(process)
    assert process.returncode == -9

    # Killed in chunk 2: chunk 1 is committed, and chunk 2 only when it was writing files.
    chunks = database.rows('SELECT "index", status FROM billing_billingrunchunk ORDER BY "index"')
    second_done = point == "outputs"
    assert [status for _, status in chunks] == [
        "done",
        "done" if second_done else "running",
        "pending",
        "pending",
    ]
    statuses = database.rows("SELECT status, contract_id FROM billing_invoice")
    assert {status for status, _ in statuses} <= {"issued", "held"}
    issued_before = {"C-001", "C-009"} | ({"C-002", "C-003"} if second_done else set())
    assert len([s for s, _ in statuses if s == "issued"]) == len(issued_before)
    assert_gapless(database)
    unlined = database.rows(
        "SELECT COUNT(*) FROM billing_invoice i WHERE NOT EXISTS "
        "(SELECT 1 FROM billing_invoiceline l WHERE l.invoice_id = i.id)"
    )
    assert unlined == [(0,)]
    journals = issued_journals(database, var_dir)
    assert journals["ADE-000001"]
    assert journals["ADE-000002"]
    if second_done:
        assert not journals["ADE-000003"]
        assert not journals["ADE-000004"]

    report = tmp_path / "report.json"
    restarted = billguard(database, var_dir, *RUN, "--json", str(report))

    assert restarted.returncode == 1, restarted.stderr
    data = json.loads(report.read_text())
    assert data["already_issued"] == len(issued_before)
    assert data["invoices_issued"] == CLEAN - len(issued_before)
    assert sorted(h["contract"] for h in data["held"]) == sorted(SEEDED_HELD)
    assert data["chunks_retried"] == 0
    assert snapshot(database) == contracts_reference.numbered
    assert_gapless(database)
    assert all(issued_journals(database, var_dir).values())
