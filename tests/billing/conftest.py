"""Scratch databases for the tests that run billguard processes (see harness.py).

A template database is seeded once per session and cloned for each test: a SQLite file when
the test settings use SQLite, else a PostgreSQL database on the server of the test settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.billing.harness import (
    PostgresServer,
    ScratchDatabase,
    billguard,
    postgres_server,
    seed,
    snapshot,
    unique_name,
)
from tests.billing.seed import SEEDED_PERIOD

Snapshot = dict[str, list[tuple[str, ...]]]


@dataclass(frozen=True)
class ReferenceRun:
    """Snapshots of a run that nothing interrupted, with and without the invoice numbers."""

    numbered: Snapshot
    unnumbered: Snapshot


@pytest.fixture(scope="session")
def pg_server() -> PostgresServer:
    """The PostgreSQL server of the test settings; only tests on PostgreSQL use it."""
    if connection.vendor != "postgresql":
        pytest.fail("pg_server needs the PostgreSQL test settings; mark the test postgresql-only")
    return postgres_server(settings.DATABASES["default"])


def _template(kind: str, folder: Path) -> Iterator[ScratchDatabase]:
    if connection.vendor == "postgresql":
        server = postgres_server(settings.DATABASES["default"])
        name = unique_name(f"billguard_tpl_{kind}")
        server.create(name)
        database = ScratchDatabase(
            url=server.url(name), vendor="postgresql", server=server, name=name
        )
    else:
        path = folder / f"template-{kind}.sqlite3"
        database = ScratchDatabase(url=f"sqlite:///{path}", vendor="sqlite", path=path)
    try:
        seed(database, kind, folder / "var")
        yield database
    finally:
        database.drop()


@pytest.fixture(scope="session")
def contracts_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScratchDatabase]:
    """The ten contracts of tests/billing/seed.py, seeded once per session."""
    yield from _template("contracts", tmp_path_factory.mktemp("contracts-template"))


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScratchDatabase]:
    """The small sample company, seeded once per session."""
    yield from _template("sample", tmp_path_factory.mktemp("sample-template"))


@pytest.fixture(scope="session")
def contracts_reference(
    contracts_template: ScratchDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReferenceRun]:
    """Snapshots of an in-process run of the seeded contracts, in chunks of three."""
    folder = tmp_path_factory.mktemp("contracts-reference")
    database = contracts_template.clone(unique_name("billguard_reference"), folder)
    try:
        completed = billguard(
            database, folder / "var", "run", "--period", SEEDED_PERIOD, "--chunk-size", "3"
        )
        assert completed.returncode == 1, completed.stderr
        yield ReferenceRun(
            numbered=snapshot(database), unnumbered=snapshot(database, numbers=False)
        )
    finally:
        database.drop()


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Callable[[ScratchDatabase], ScratchDatabase]]:
    """Clone a template into a database that is dropped when the test ends."""
    clones: list[ScratchDatabase] = []

    def clone(template: ScratchDatabase) -> ScratchDatabase:
        database = template.clone(unique_name("billguard_scratch"), tmp_path)
        clones.append(database)
        return database

    try:
        yield clone
    finally:
        for database in clones:
            database.drop()
