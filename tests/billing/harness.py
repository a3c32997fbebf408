"""Databases, Redis queues and billguard processes for the crash, queue and concurrency tests.

These tests run ``billguard`` as real subprocesses on a database of their own: a SQLite file,
or a PostgreSQL database that they create on the server of the test settings and drop at
the end. Every wait has a timeout, and every process started here is killed by the test
that started it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

REPO = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT = 120
FAULT_TIMEOUT = 60
WORKER_READY_TIMEOUT = 30
DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/13"


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str
    password: str

    def url(self, database: str) -> str:
        secret = f":{self.password}" if self.password else ""
        return f"postgresql://{self.user}{secret}@{self.host}:{self.port}/{database}"

    @contextmanager
    def admin(self) -> Iterator[psycopg.Connection[Any]]:
        """Connect to the ``postgres`` database in autocommit mode."""
        try:
            conn = psycopg.connect(
                host=self.host,
                port=self.port,
                user=self.user,
                password=self.password or None,
                dbname="postgres",
                autocommit=True,
                connect_timeout=5,
            )
        except psycopg.OperationalError as error:
            pytest.fail(
                f"PostgreSQL is not reachable at {self.host}:{self.port} as {self.user}: "
                f"{str(error).strip().rstrip('.')}. Start it (pg_ctlcluster "
                "--skip-systemctl-redirect $(ls /etc/postgresql) main start) or set "
                "TEST_POSTGRES_URL."
            )
        try:
            yield conn
        finally:
            conn.close()

    def create(self, name: str, template: str | None = None) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            clause = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{clause}')

    def drop(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def terminate_backend(self, backend_pid: int) -> bool:
        with self.admin() as conn:
            row = conn.execute("SELECT pg_terminate_backend(%s)", [backend_pid]).fetchone()
        return bool(row and row[0])


def postgres_server(settings_dict: dict[str, Any]) -> PostgresServer:
    """The server of the Django database settings ``settings_dict``."""
    return PostgresServer(
        host=str(settings_dict.get("HOST") or "127.0.0.1"),
        port=int(settings_dict.get("PORT") or 5432),
        user=str(settings_dict.get("USER") or os.environ.get("USER", "postgres")),
        password=str(settings_dict.get("PASSWORD") or ""),
    )


@dataclass
class ScratchDatabase:
    """A database for billguard subprocesses: a SQLite file or a PostgreSQL database."""

    url: str
    vendor: str
    path: Path | None = None  # of the SQLite file
    server: PostgresServer | None = None
    name: str = ""  # of the PostgreSQL database

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.vendor == "sqlite":
            assert self.path is not None
            with sqlite3.connect(self.path, timeout=30) as conn:
                return list(conn.execute(sql.replace("%s", "?"), params).fetchall())
        assert self.server is not None
        with psycopg.connect(self.url, connect_timeout=5) as conn:
            return list(conn.execute(sql, params).fetchall())  # type: ignore[arg-type]

    def clone(self, name: str, folder: Path) -> ScratchDatabase:
        """Copy this database, which no process may use meanwhile, under ``name``."""
        if self.vendor == "sqlite":
            assert self.path is not None
            path = folder / f"{name}.sqlite3"
            shutil.copyfile(self.path, path)
            return ScratchDatabase(url=f"sqlite:///{path}", vendor="sqlite", path=path)
        assert self.server is not None
        self.server.create(name, template=self.name)
        return ScratchDatabase(
            url=self.server.url(name), vendor="postgresql", server=self.server, name=name
        )

    def drop(self) -> None:
        if self.server is not None:
            self.server.drop(self.name)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


def billguard_env(database: ScratchDatabase, var_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BILLGUARD_", "PYTEST_", "DJANGO_"))
    }
    env.update(
        BILLGUARD_DATABASE_URL=database.url,
        BILLGUARD_VAR_DIR=str(var_dir),
        BILLGUARD_LOG_LEVEL="INFO",
        # Both seeds create the sample users; the finance user may run and resolve.
        BILLGUARD_USER="fran.finance",
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


def seed(database: ScratchDatabase, kind: str, var_dir: Path) -> None:
    """Create the tables of ``database`` and fill it as tests/billing/seed.py ``kind`` does."""
    completed = subprocess.run(  # noqa: S603  (the test's own arguments)
        [sys.executable, "-m", "tests.billing.seed", kind],
        cwd=REPO,
        env=billguard_env(database, var_dir),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert completed.returncode == 0, f"seeding {kind} failed:\n{completed.stderr}"


def billguard(
    database: ScratchDatabase,
    var_dir: Path,
    *args: str,
    timeout: float = COMMAND_TIMEOUT,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """Run ``billguard ARGS`` to its end and return its exit status and output."""
    return subprocess.run(  # noqa: S603  (the test's own arguments)
        [sys.executable, "-m", "billguard.cli.main", *args],
        cwd=REPO,
        env=billguard_env(database, var_dir, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def billguard_start(
    database: ScratchDatabase, var_dir: Path, log: Path, *args: str, **env: str
) -> subprocess.Popen[bytes]:
    """Start ``billguard ARGS`` in a new process group, writing its output to ``log``."""
    with log.open("ab") as output:
        return subprocess.Popen(  # noqa: S603  (the test's own arguments)
            [sys.executable, "-m", "billguard.cli.main", *args],
            cwd=REPO,
            env=billguard_env(database, var_dir, **env),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def fault_wait(path: Path, process: subprocess.Popen[bytes], log: Path) -> tuple[int, int]:
    """Wait until a process reaches the fault point; return its process id and backend id."""
    deadline = time.monotonic() + FAULT_TIMEOUT
    while time.monotonic() < deadline:
        if path.exists():
            text = path.read_text()
            if text.endswith("\n"):
                pid, backend_pid = text.split()
                return int(pid), int(backend_pid)
        if process.poll() is not None:
            pytest.fail(
                f"the process exited with {process.returncode} before the fault point:\n"
                f"{log.read_text()}"
            )
        time.sleep(0.02)
    pytest.fail(f"no process reached the fault point within {FAULT_TIMEOUT} s:\n{log.read_text()}")


def fault_release(path: Path) -> None:
    with path.open("a") as file:
        file.write("release\n")


def process_kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group of ``process`` (it was started in a session of its own)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def process_stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the process group of ``process`` with SIGTERM, and SIGKILL it after 10 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def worker_start(
    database: ScratchDatabase, var_dir: Path, log: Path, **env: str
) -> subprocess.Popen[bytes]:
    """Start ``billguard worker`` and wait until Celery reports it ready."""
    process = billguard_start(database, var_dir, log, "worker", "--concurrency", "1", **env)
    deadline = time.monotonic() + WORKER_READY_TIMEOUT
    while time.monotonic() < deadline:
        if " ready." in log.read_text():
            return process
        if process.poll() is not None:
            pytest.fail(f"the worker exited with {process.returncode}:\n{log.read_text()}")
        time.sleep(0.1)
    process_stop(process)
    pytest.fail(f"the worker was not ready within {WORKER_READY_TIMEOUT} s:\n{log.read_text()}")


@dataclass
class RedisQueue:
    """A queue name of its own on the test Redis database, deleted at the end of the test."""

    url: str
    name: str

    def env(self, **extra: str) -> dict[str, str]:
        return {"BILLGUARD_BROKER_URL": self.url, "BILLGUARD_QUEUE": self.name, **extra}

    def delete(self) -> None:
        client = redis.Redis.from_url(self.url, socket_timeout=5)
        try:
            keys = list(client.scan_iter(match=f"*{self.name}*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def redis_queue() -> RedisQueue:
    """A new queue on BILLGUARD_TEST_REDIS_URL (default database 13); fails when unreachable."""
    url = os.environ.get("BILLGUARD_TEST_REDIS_URL", DEFAULT_TEST_REDIS_URL)
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(
            f"Redis is not reachable at {url}: {str(error).rstrip('.')}. Start it (redis-server "
            "--daemonize yes "
            "--bind 127.0.0.1 --port 6379) or set BILLGUARD_TEST_REDIS_URL."
        )
    finally:
        client.close()
    return RedisQueue(url=url, name=unique_name("billguard_test"))


# Snapshots of what a run stored, for comparing two databases.

INVOICES_SQL = """
    SELECT c.number, i.status, i.number, s.code, i.period_start, i.period_end, i.currency,
           i.line_extension, i.tax_total, i.payable, i.draft_key
    FROM billing_invoice i
    JOIN registry_contract c ON c.id = i.contract_id
    JOIN registry_sellerentity s ON s.id = i.seller_entity_id
    ORDER BY c.number, i.period_start, i.document_type, i.id
"""
LINES_SQL = """
    SELECT c.number, i.period_start, l.position, l.line_code, l.description, l.quantity,
           l.unit_price, l.net_amount, l.tax_category, l.tax_rate
    FROM billing_invoiceline l
    JOIN billing_invoice i ON i.id = l.invoice_id
    JOIN registry_contract c ON c.id = i.contract_id
    ORDER BY c.number, i.period_start, l.position
"""
FINDINGS_SQL = """
    SELECT c.number, i.period_start, f.code, f.severity, f.subject, f.message, f.expected,
           f.actual, f.amount_at_stake, f.currency
    FROM checks_storedfinding f
    JOIN billing_invoice i ON i.id = f.invoice_id
    JOIN registry_contract c ON c.id = i.contract_id
    ORDER BY c.number, i.period_start, f.code, f.subject, f.message
"""
SERIES_SQL = """
    SELECT s.code, n.prefix, n.next_number
    FROM billing_numberingseries n JOIN registry_sellerentity s ON s.id = n.seller_entity_id
    ORDER BY s.code
"""


def _plain(rows: list[tuple[Any, ...]]) -> list[tuple[str, ...]]:
    # SQLite returns decimals as floats or strings and PostgreSQL as Decimal; compare as text.
    return [tuple("" if value is None else str(value) for value in row) for row in rows]


def snapshot(
    database: ScratchDatabase, *, numbers: bool = True
) -> dict[str, list[tuple[str, ...]]]:
    """Collect the invoices, lines, findings and series of ``database`` as rows of text.

    With ``numbers`` false, invoice numbers are left out, also where findings quote them,
    for runs that may issue in another order.
    """
    invoices = _plain(database.rows(INVOICES_SQL))
    findings = _plain(database.rows(FINDINGS_SQL))
    series = _plain(database.rows(SERIES_SQL))
    if not numbers:
        invoices = [(*row[:2], "", *row[3:]) for row in invoices]
        pattern = re.compile("|".join(rf"{re.escape(prefix)}\d+" for _, prefix, _ in series))
        findings = [tuple(pattern.sub("#", value) for value in row) for row in findings]
    return {
        "invoices": invoices,
        "lines": _plain(database.rows(LINES_SQL)),
        "findings": findings,
        "series": series,
    }


def numbers_by_series(database: ScratchDatabase) -> dict[str, list[int]]:
    """The issued invoice and credit note numbers of each seller entity, as sorted integers."""
    prefixes = {code: prefix for code, prefix, _ in database.rows(SERIES_SQL)}
    numbers: dict[str, list[int]] = {code: [] for code in prefixes}
    rows = database.rows(
        "SELECT s.code, i.number FROM billing_invoice i "
        "JOIN registry_sellerentity s ON s.id = i.seller_entity_id "
        "WHERE i.status = 'issued'"
    )
    for code, number in rows:
        numbers[code].append(int(str(number).removeprefix(prefixes[code])))
    return {code: sorted(values) for code, values in numbers.items()}


def assert_gapless(database: ScratchDatabase) -> None:
    """Every series numbers its issued documents 1, 2, ... without a gap or a repeat."""
    next_numbers = {code: int(next_number) for code, _, next_number in database.rows(SERIES_SQL)}
    for code, numbers in numbers_by_series(database).items():
        assert numbers == list(range(1, next_numbers[code])), f"series {code}: {numbers}"
