"""Fault-injection hook for the crash and connection-loss tests of the billing run.

It does nothing unless BILLGUARD_FAULT_POINT names the point that the run reaches:

- ``drafting``: inside a chunk's transaction, with its contracts locked, before drafting;
- ``checks``: after drafting, before the first checked drafts are stored;
- ``issuing``: after the chunk's numbers are taken, before its transaction commits;
- ``outputs``: after the chunk committed, before its UBL and journal files are written;
- ``writer``: in a run's output process (billing/output_process.py), before it writes the
  files of a chunk handed to it; there the index counts the chunks handed to the writer.

The hook fires in the chunk whose index is BILLGUARD_FAULT_AFTER_CHUNKS + 1 (default 0, so
the first chunk). The process that reaches the point first creates BILLGUARD_FAULT_FILE,
writes "<process id> <database backend process id>" into it and waits until the file
contains ``release``, for at most FAULT_WAIT_SECONDS. Meanwhile a test kills the process or
its database connection. The file is created once, so a chunk started again runs through.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from django.db import connection

logger = logging.getLogger(__name__)

FAULT_POINTS = ("drafting", "checks", "issuing", "outputs", "writer")
FAULT_WAIT_SECONDS = 60.0


def fault_point(name: str, chunk_index: int) -> None:
    """Pause at the fault point ``name`` when the environment selects it for this chunk."""
    if os.environ.get("BILLGUARD_FAULT_POINT") != name:
        return
    if chunk_index != int(os.environ.get("BILLGUARD_FAULT_AFTER_CHUNKS", "0")) + 1:
        return
    path = Path(os.environ["BILLGUARD_FAULT_FILE"])
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "w") as file:
        file.write(f"{os.getpid()} {_backend_pid()}\n")
    logger.warning("fault point %s reached in chunk %d; waiting for release", name, chunk_index)
    deadline = time.monotonic() + FAULT_WAIT_SECONDS
    while "release" not in path.read_text():
        if time.monotonic() > deadline:
            logger.warning("fault point %s was not released within %s s", name, FAULT_WAIT_SECONDS)
            return
        time.sleep(0.02)


def _backend_pid() -> int:
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        row = cursor.fetchone()
    return int(row[0]) if row else 0
