"""Two billing runs of the same period at once, and a run that loses its database connection.

Both need PostgreSQL: SQLite has no row locks and no other connection that could end one.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections

from billguard.billing.models import BillingRun, BillingRunChunk, Invoice, NumberingSeries
from billguard.billing.report import format_report, run_report
from billguard.billing.run import RunResult, billing_run_execute
from billguard.domain.periods import parse_period
from tests.billing.harness import FAULT_TIMEOUT, PostgresServer, fault_release
from tests.factories import make_contract

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks and ending another connection's backend need PostgreSQL",
    ),
]

THREAD_TIMEOUT = 60


def make_contracts(count: int, *, held: frozenset[int] = frozenset()) -> list[str]:
    numbers = []
    for index in range(1, count + 1):
        number = f"C-{index:03d}"
        fields: dict[str, object] = {"sow_document_id": None} if index in held else {}
        make_contract(number, customer_code=f"CUST-{index}", **fields)
        numbers.append(number)
    return numbers


def run_in_thread(
    results: list[RunResult], errors: list[BaseException], **options: Any
) -> threading.Thread:
    def target() -> None:
        try:
            results.append(billing_run_execute(period=parse_period("2026-11"), **options))
        except BaseException as error:  # reported by the test thread
            errors.append(error)
        finally:
            connections.close_all()

    return threading.Thread(target=target)


def test_overlapping_runs_issue_each_invoice_once():
    numbers = make_contracts(12, held=frozenset({4, 9}))
    results: list[RunResult] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def bill() -> None:
        try:
            barrier.wait(timeout=THREAD_TIMEOUT)
            results.append(billing_run_execute(period=parse_period("2026-11"), chunk_size=3))
        except BaseException as error:  # reported by the test thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=bill) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT)

    assert not any(thread.is_alive() for thread in threads), "a run did not finish in time"
    assert errors == []
    assert len(results) == 2
    assert sum(len(r.issued) for r in results) == 10
    assert sum(len(r.issued) + r.already_issued for r in results) == 20
    issued = Invoice.objects.filter(status=Invoice.Status.ISSUED)
    assert sorted(issued.values_list("contract__number", flat=True)) == [
        n for n in numbers if n not in ("C-004", "C-009")
    ]
    assert sorted(issued.values_list("number", flat=True)) == [f"ADE-{i:06d}" for i in range(1, 11)]
    assert NumberingSeries.objects.get().next_number == 11
    held = Invoice.objects.filter(status=Invoice.Status.HELD)
    assert sorted(held.values_list("contract__number", flat=True)) == ["C-004", "C-009"]
    assert set(BillingRun.objects.values_list("status", flat=True)) == {"completed"}


@pytest.mark.parametrize("point", ["checks", "issuing"])
def test_connection_lost_mid_chunk_is_retried(
    point: str, pg_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    make_contracts(9, held=frozenset({5}))
    fault_file = tmp_path / "fault"
    monkeypatch.setenv("BILLGUARD_FAULT_POINT", point)
    monkeypatch.setenv("BILLGUARD_FAULT_AFTER_CHUNKS", "1")
    monkeypatch.setenv("BILLGUARD_FAULT_FILE", str(fault_file))
    results: list[RunResult] = []
    errors: list[BaseException] = []
    thread = run_in_thread(results, errors, chunk_size=3)

    thread.start()
    backend_pid = wait_for_backend(fault_file, thread)
    assert pg_server.terminate_backend(backend_pid)
    fault_release(fault_file)
    thread.join(timeout=THREAD_TIMEOUT)

    assert not thread.is_alive(), "the run did not finish in time"
    assert errors == []
    [result] = results
    assert result.retried_chunks == 1
    assert len(result.issued) == 8
    assert [o.contract_number for o in result.held] == ["C-005"]
    chunks = BillingRunChunk.objects.filter(run_id=result.billing_run_id).order_by("index")
    assert [c.attempts for c in chunks] == [1, 2, 1]
    assert set(chunks.values_list("status", flat=True)) == {"done"}
    issued = Invoice.objects.filter(status=Invoice.Status.ISSUED)
    assert sorted(issued.values_list("number", flat=True)) == [f"ADE-{i:06d}" for i in range(1, 9)]
    assert Invoice.objects.count() == 9
    assert NumberingSeries.objects.get().next_number == 9
    report = run_report(result)
    assert report["chunks_retried"] == 1
    assert "chunks retried              1 of 3" in format_report(report)
    assert BillingRun.objects.get().counts["retried_chunks"] == 1


def wait_for_backend(fault_file: Path, thread: threading.Thread) -> int:
    """Wait until the run in ``thread`` reaches the fault point; return its backend id."""
    deadline = time.monotonic() + FAULT_TIMEOUT
    while time.monotonic() < deadline:
        if fault_file.exists() and fault_file.read_text().endswith("\n"):
            return int(fault_file.read_text().split()[1])
        if not thread.is_alive():
            pytest.fail("the run ended before it reached the fault point")
        time.sleep(0.02)
    pytest.fail(f"the run did not reach the fault point within {FAULT_TIMEOUT} s")
