"""Writing the UBL and journal files of a long billing run in a second process.

A run in process keeps one core busy with drafting, checking and issuing, and writing each
issued invoice's files took about a fifth of that work. When the run has at least
``MIN_CHUNKS`` chunks and the database is PostgreSQL, ``output_process`` starts one writer
process for the run. After each chunk commits, the run hands the writer the ids of the
invoices to write and goes on with the next chunk. The writer loads those invoices and writes
their files as the run itself would (``billing.outputs``).

The writer is started with ``spawn``, so it shares no database connection with the run. Its
queue takes at most ``QUEUE_SIZE`` chunks, so a writer that falls behind slows the run down
instead of letting the ids pile up. At the end the run waits for the writer. A writer that
failed or died leaves some files unwritten: the run then writes the files still missing
itself, as the next run of the period would.

On SQLite the run writes the files itself: a second process reading the database file while
the run commits would wait on SQLite's file lock.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection

from billguard.child_processes import child_environment, database_url_in_use

logger = logging.getLogger(__name__)

MIN_CHUNKS = 8
QUEUE_SIZE = 4
# How long the writer waits for work before it checks that the run's process still lives.
POLL_SECONDS = 1.0


class OutputProcess:
    """One writer process and the ids of every invoice handed to it."""

    def __init__(self, database_url: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._jobs: Any = context.Queue(maxsize=QUEUE_SIZE)
        self._process = context.Process(
            target=writer_main,
            args=(self._jobs, child_environment(database_url), os.getpid()),
            name="billguard-outputs",
            daemon=True,
        )
        self.handed: list[int] = []

    def start(self) -> None:
        self._process.start()
        logger.info("output files written by process %s", self._process.pid)

    def hand(self, invoice_ids: list[int]) -> None:
        """Queue the files of ``invoice_ids``; waits while the queue is full."""
        if not invoice_ids:
            return
        while True:
            # A writer that ended takes nothing more; the caller writes the files itself.
            if not self._process.is_alive():
                raise OutputProcessError(self._process.exitcode)
            try:
                self._jobs.put(list(invoice_ids), timeout=POLL_SECONDS)
                break
            except queue.Full:
                continue
        self.handed.extend(invoice_ids)

    def finish(self) -> bool:
        """Tell the writer that no more work comes, and wait for it to end.

        Returns whether it wrote everything it was handed (it ended with exit code 0).
        """
        if self._process.is_alive():
            try:
                self._jobs.put(None, timeout=POLL_SECONDS * 10)
            except queue.Full:
                logger.error(
                    "output process %s timed out taking the end of work; terminating it",
                    self._process.pid,
                )
                self._process.terminate()
        self._process.join()
        if self._process.exitcode != 0:
            # Nobody reads ids still queued for a writer that ended, so do not wait to send them.
            self._jobs.cancel_join_thread()
        self._jobs.close()
        self._jobs.join_thread()
        if self._process.exitcode != 0:
            logger.error(
                "the output process ended with exit code %s; the run writes the missing files",
                self._process.exitcode,
            )
            return False
        return True


class OutputProcessError(Exception):
    """Error raised when the run hands work to an output process that has ended."""

    def __init__(self, exitcode: int | None) -> None:
        super().__init__(f"the output process ended with exit code {exitcode}")


# The writer of the run that this thread carries out. Runs in two threads of one process (as
# in the concurrency tests) have a writer each.
_current: ContextVar[OutputProcess | None] = ContextVar("billguard_output_process", default=None)


def current_output_process() -> OutputProcess | None:
    """Return the writer of the run this thread carries out, if it has one."""
    return _current.get()


@contextmanager
def output_process(chunks: int) -> Iterator[OutputProcess | None]:
    """Give a run of ``chunks`` chunks a writer process while the block runs, where it pays.

    On leaving, the writer gets to the end of its work; the files of a writer that failed are
    written here.
    """
    url = database_url_in_use() if connection.vendor == "postgresql" else None
    if chunks < MIN_CHUNKS or url is None or _current.get() is not None:
        yield None
        return
    writer = OutputProcess(url)
    writer.start()
    token = _current.set(writer)
    try:
        yield writer
    finally:
        _current.reset(token)
        if not writer.finish():
            _write_missing(writer.handed)


def _write_missing(invoice_ids: list[int]) -> None:
    from billguard.billing.chunks import outputs_write_missing

    outputs_write_missing(invoice_ids)


def writer_main(jobs: Any, environment: dict[str, str], parent_pid: int) -> None:
    """Set Django up on the run's database, then write the files of each list of invoice ids
    from ``jobs`` until ``None`` arrives or the run's process is gone."""
    os.environ.update(environment)
    import django

    django.setup()
    from billguard.billing.chunks import outputs_write
    from billguard.billing.faults import fault_point

    handed = 0
    while True:
        try:
            invoice_ids = jobs.get(timeout=POLL_SECONDS)
        except queue.Empty:
            if os.getppid() != parent_pid:
                logger.warning("the billing run's process %s is gone; writer stops", parent_pid)
                return
            continue
        if invoice_ids is None:
            return
        handed += 1
        fault_point("writer", handed)
        outputs_write(invoice_ids)
