"""Carrying out a billing run that a page recorded, outside the request that recorded it.

A billing run can take minutes, longer than a web worker may hold a request. The page records
the run (billing_run_record) and hands it to the starter that the BILLGUARD_RUN_STARTER
setting names, then returns at once with the run to watch.

The default starter launches ``billguard run --run-id ID`` as a child process in a session of
its own. That process outlives the web worker that launched it, so a gunicorn worker that is
recycled (max_requests, a timeout) or a development server that reloads leaves the run going,
and it has its own database connection and memory. In queue mode the same process sends the
chunks to ``billguard worker`` processes and waits for them. It must, because the process
that starts a run also completes it (counts, report). With only the chunks on the queue, no
process would complete the run.

``run_in_this_process`` carries the run out before it returns. Tests use it through the
setting, and so can a deployment that wants no child processes.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

from billguard.billing.models import BillingRun
from billguard.child_processes import child_environment as child_process_environment
from billguard.child_processes import database_url_in_use
from billguard.domain.errors import BillguardError

logger = logging.getLogger(__name__)

RunStarter = Callable[[BillingRun], None]

DEFAULT_STARTER = "billguard.web.background.run_in_child_process"


def run_starter() -> RunStarter:
    """Return the starter that the BILLGUARD_RUN_STARTER setting names (a dotted path)."""
    path = getattr(settings, "BILLGUARD_RUN_STARTER", "") or DEFAULT_STARTER
    starter: RunStarter = import_string(path)
    return starter


def run_in_child_process(run: BillingRun) -> None:
    """Launch ``billguard run --run-id`` for ``run`` and return without waiting for it.

    Its output goes to ``var/logs/billing-run-ID.log``. A thread of this process waits for
    the child so that it leaves no zombie process behind.
    """
    log_path = Path(settings.VAR_DIR) / "logs" / f"billing-run-{run.pk}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "billguard.cli.main", *run_arguments(run)]
    with log_path.open("ab") as log:
        child = subprocess.Popen(  # noqa: S603  (fixed program, arguments from the run record)
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_environment(),
            start_new_session=True,
            close_fds=True,
        )
    logger.info("billing run %s handed to process %s, output in %s", run.pk, child.pid, log_path)
    threading.Thread(target=child.wait, name=f"billing-run-{run.pk}", daemon=True).start()


def run_in_this_process(run: BillingRun) -> None:
    """Carry out ``run`` before returning; an error is stored in the run, as a child's is."""
    from django.contrib.auth.models import User

    from billguard.billing.run import billing_run_execute
    from billguard.controls.services import audit_checkpoint
    from billguard.domain.periods import parse_period

    by = User.objects.filter(username=run.started_by).first() if run.started_by else None
    try:
        billing_run_execute(
            period=parse_period(run.period_label),
            dry_run=run.dry_run,
            queue=run.mode == BillingRun.Mode.QUEUE,
            by=by,
            run_id=run.pk,
        )
    except BillguardError as error:
        # billing_run_execute stored the error in the run, which is where the page shows it.
        logger.warning("billing run %s failed: %s", run.pk, error)
        return
    if not run.dry_run:
        audit_checkpoint()


def run_arguments(run: BillingRun) -> list[str]:
    """Build the ``billguard`` arguments that carry out ``run`` as it was recorded."""
    arguments = ["run", "--period", run.period_label, "--run-id", str(run.pk)]
    if run.started_by:
        arguments += ["--user", run.started_by]
    if run.dry_run:
        arguments.append("--dry-run")
    if run.mode == BillingRun.Mode.QUEUE:
        arguments.append("--queue")
    return arguments


def child_environment() -> dict[str, str]:
    """Copy this process's environment, pointed at the database and var directory in use.

    In production they are the configured ones. Under a test runner the database is the test
    database, which the child must use too.
    """
    url = database_url_in_use()
    if url is None:
        raise BillguardError(
            "the database is an in-memory SQLite database, which the process that carries "
            "out a billing run cannot open.",
            code="RUN_STARTER_UNAVAILABLE",
            place="BILLGUARD_DATABASE_URL",
            fix="Use a SQLite file or PostgreSQL, or set BILLGUARD_RUN_STARTER to "
            "billguard.web.background.run_in_this_process.",
        )
    return child_process_environment(url)
