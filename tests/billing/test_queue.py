"""Queue mode: ``billguard run --queue`` with real ``billguard worker`` processes and Redis.

Each test uses a PostgreSQL database of its own and a queue name of its own on the test
Redis database (BILLGUARD_TEST_REDIS_URL, default redis://127.0.0.1:6379/13), and stops
every worker it started. Queue mode needs PostgreSQL, so these tests run in the PostgreSQL
half of the suite only. The checks of the command line at the end run in both halves.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection

from billguard.billing.models import BillingRun
from billguard.cli.main import main
from billguard.sample.company import PERIOD as SAMPLE_PERIOD
from tests.billing.conftest import ReferenceRun
from tests.billing.harness import (
    RedisQueue,
    ScratchDatabase,
    assert_gapless,
    billguard,
    billguard_start,
    fault_wait,
    numbers_by_series,
    process_kill,
    process_stop,
    redis_queue,
    snapshot,
    worker_start,
)
from tests.billing.seed import SEEDED_HELD, SEEDED_PERIOD
from tests.factories import make_contract

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="queue mode needs PostgreSQL"
)
RUN_TIMEOUT = 90
Scratch = Callable[[ScratchDatabase], ScratchDatabase]


@pytest.fixture
def queue() -> Iterator[RedisQueue]:
    created = redis_queue()
    try:
        yield created
    finally:
        created.delete()


def chunk_attempts(database: ScratchDatabase) -> list[int]:
    rows = database.rows('SELECT attempts FROM billing_billingrunchunk ORDER BY "index"')
    return [int(attempts) for (attempts,) in rows]


@postgresql_only
def test_two_workers_match_in_process_run(
    sample_template: ScratchDatabase, scratch: Scratch, queue: RedisQueue, tmp_path: Path
):
    in_process = scratch(sample_template)
    queued = scratch(sample_template)
    run = ("run", "--period", SAMPLE_PERIOD, "--chunk-size", "10")

    expected = billguard(in_process, tmp_path / "var-a", *run, "--json", str(tmp_path / "a.json"))
    assert expected.returncode == 1, expected.stderr

    var_dir = tmp_path / "var-b"
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers = []
    try:
        for log in logs:
            workers.append(worker_start(queued, var_dir, log, **queue.env()))
        actual = billguard(
            queued,
            var_dir,
            *run,
            "--queue",
            "--timeout",
            "60",
            "--json",
            str(tmp_path / "b.json"),
            timeout=RUN_TIMEOUT,
            **queue.env(),
        )
    finally:
        for worker in workers:
            process_stop(worker)

    assert actual.returncode == 1, actual.stderr
    assert snapshot(queued, numbers=False) == snapshot(in_process, numbers=False)
    assert_gapless(in_process)
    assert_gapless(queued)
    expected_counts = {code: len(n) for code, n in numbers_by_series(in_process).items()}
    actual_counts = {code: len(n) for code, n in numbers_by_series(queued).items()}
    assert actual_counts == expected_counts
    expected_report = json.loads((tmp_path / "a.json").read_text())
    actual_report = json.loads((tmp_path / "b.json").read_text())
    run_id = actual_report.pop("billing_run")
    assert expected_report.pop("billing_run") == run_id
    # Two workers can deadlock on a lock that the in-process run takes alone; PostgreSQL
    # aborts one chunk, which is retried. The outcome must not differ, only this count.
    assert expected_report.pop("chunks_retried") == 0
    actual_report.pop("chunks_retried")
    assert actual_report == expected_report
    assert actual_report["invoices_issued"] > 0
    assert actual_report["invoices_held"] > 0
    assert actual_report["chunks"] > 2
    contracts = actual_report["contracts_considered"]
    chunks = actual_report["chunks"]
    started = f"billing run {run_id} started: period {SAMPLE_PERIOD}, {contracts} contracts"
    assert f"{started} in {chunks} chunks, mode queue" in actual.stderr
    assert f"billing run {run_id} finished" in actual.stderr
    worker_output = "".join(log.read_text() for log in logs)
    chunk_logs = re.findall(
        rf"billing run {run_id} chunk (\d+): (\d+) contracts, .* in [\d.]+ s \(attempt \d+\)",
        worker_output,
    )
    assert sorted(int(index) for index, _ in chunk_logs) == list(range(1, chunks + 1))
    assert sum(int(count) for _, count in chunk_logs) == contracts
    assert queued.rows("SELECT started_by FROM billing_billingrun WHERE id = %s", (run_id,)) == [
        ("fran.finance",)
    ]
    issue_actors = queued.rows(
        "SELECT DISTINCT actor FROM controls_audit_entry "
        "WHERE action = 'invoice.issue' AND billing_run_id = %s",
        (run_id,),
    )
    assert issue_actors == [("fran.finance",)]


def run_with_killed_worker(
    database: ScratchDatabase,
    queue: RedisQueue,
    tmp_path: Path,
    *,
    kill_whole_worker: bool,
) -> tuple[int, dict[str, object]]:
    """Run the seeded period in queue mode and SIGKILL the worker during chunk 2.

    Return the run's exit status and report. With ``kill_whole_worker``, the worker's
    process group dies and a second worker takes over. Otherwise only the pool process
    running the chunk dies, and the same worker runs the chunk again.
    """
    var_dir = tmp_path / "var"
    fault_file = tmp_path / "fault"
    report = tmp_path / "report.json"
    env = queue.env(
        BILLGUARD_FAULT_POINT="issuing",
        BILLGUARD_FAULT_AFTER_CHUNKS="1",
        BILLGUARD_FAULT_FILE=str(fault_file),
    )
    if kill_whole_worker:
        # Redis hands the dead worker's chunk to another worker after this many seconds.
        env["BILLGUARD_BROKER_VISIBILITY_TIMEOUT"] = "2"
    workers = []
    run_log = tmp_path / "run.log"
    run = None
    try:
        first = worker_start(database, var_dir, tmp_path / "worker-1.log", **env)
        workers.append(first)
        run = billguard_start(
            database,
            var_dir,
            run_log,
            *("run", "--period", SEEDED_PERIOD, "--chunk-size", "3", "--queue"),
            *("--timeout", "60", "--json", str(report)),
            **env,
        )
        pid, _ = fault_wait(fault_file, first, tmp_path / "worker-1.log")
        assert pid != first.pid, "the chunk runs in a pool process, not the worker's main one"
        if kill_whole_worker:
            process_kill(first)
            workers.append(worker_start(database, var_dir, tmp_path / "worker-2.log", **env))
        else:
            os.kill(pid, signal.SIGKILL)
        status = run.wait(timeout=RUN_TIMEOUT)
    finally:
        if run is not None:
            process_kill(run)
        for worker in workers:
            process_stop(worker)
    assert report.exists(), run_log.read_text()
    return status, json.loads(report.read_text())


@postgresql_only
def test_dead_worker_chunk_goes_to_another_worker(
    contracts_template: ScratchDatabase,
    contracts_reference: ReferenceRun,
    scratch: Scratch,
    queue: RedisQueue,
    tmp_path: Path,
):
    database = scratch(contracts_template)

    status, report = run_with_killed_worker(database, queue, tmp_path, kill_whole_worker=True)

    assert status == 1
    assert report["chunks_retried"] == 1
    assert sorted(h["contract"] for h in report["held"]) == sorted(SEEDED_HELD)
    assert chunk_attempts(database) == [1, 2, 1, 1]
    assert snapshot(database, numbers=False) == contracts_reference.unnumbered
    assert_gapless(database)


@postgresql_only
def test_dead_pool_process_chunk_runs_again(
    contracts_template: ScratchDatabase,
    contracts_reference: ReferenceRun,
    scratch: Scratch,
    queue: RedisQueue,
    tmp_path: Path,
):
    database = scratch(contracts_template)

    status, report = run_with_killed_worker(database, queue, tmp_path, kill_whole_worker=False)

    assert status == 1
    assert report["chunks_retried"] == 1
    assert chunk_attempts(database) == [1, 2, 1, 1]
    # The chunk goes back to the end of the queue, so chunks 3 and 4 may issue before it.
    assert snapshot(database, numbers=False) == contracts_reference.unnumbered
    assert_gapless(database)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "sqlite", reason="checks the SQLite database")
def test_queue_mode_rejects_sqlite(capsys: pytest.CaptureFixture[str], sample_users: object):
    make_contract()

    status = main(["run", "--period", "2026-11", "--queue"])

    assert status == 2
    assert "queue mode needs PostgreSQL" in capsys.readouterr().err
    assert BillingRun.objects.count() == 0


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_queue_mode_unreachable_broker_exits_two(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, sample_users: object
):
    make_contract()
    # Nothing listens on port 1 of 127.0.0.1, so the connection is refused.
    monkeypatch.setenv("BILLGUARD_BROKER_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("BILLGUARD_RUN_MODE", "queue")
    monkeypatch.setattr("billguard.celery_app.app.conf.broker_url", "redis://127.0.0.1:1/0")

    status = main(["run", "--period", "2026-11"])

    err = capsys.readouterr().err
    assert status == 2
    assert "cannot connect to the queue broker" in err
    assert "BILLGUARD_BROKER_URL" in err
    assert BillingRun.objects.count() == 0


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_queue_without_workers_times_out(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    queue: RedisQueue,
    sample_users: object,
):
    make_contract()
    monkeypatch.setenv("BILLGUARD_QUEUE", queue.name)
    monkeypatch.setattr("billguard.celery_app.app.conf.broker_url", queue.url)

    status = main(["run", "--period", "2026-11", "--queue", "--timeout", "1"])

    err = capsys.readouterr().err
    assert status == 3
    assert "timed out waiting for queue workers: 0 of 1 chunks" in err
    assert "billguard worker" in err
    run = BillingRun.objects.get()
    assert run.status == BillingRun.Status.FAILED
    assert list(run.chunks.values_list("status", flat=True)) == ["pending"]


@pytest.mark.django_db(transaction=True)
def test_unknown_run_mode_exits_two(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, sample_users: object
):
    make_contract()
    monkeypatch.setenv("BILLGUARD_RUN_MODE", "parallel")

    status = main(["run", "--period", "2026-11"])

    assert status == 2
    assert "BILLGUARD_RUN_MODE" in capsys.readouterr().err
    assert BillingRun.objects.count() == 0
