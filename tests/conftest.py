"""Shared fixtures. The database is the one BILLGUARD_DATABASE_URL names (SQLite or PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def einvoice_examples() -> Path:
    """Folder of the official EN 16931 example invoices shipped beside the repository."""
    folder = SHARED_DATA / "einvoice"
    if not folder.is_dir():
        pytest.fail(f"EN 16931 example invoices not found at {folder}")
    return folder


@pytest.fixture(autouse=True)
def var_dir(tmp_path: Path, settings) -> Path:  # type: ignore[no-untyped-def]
    """Each test stores documents and outputs under its own temporary var directory."""
    settings.VAR_DIR = tmp_path / "var"
    documents = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(settings.VAR_DIR / "documents")},
    }
    settings.STORAGES = {**settings.STORAGES, "documents": documents}
    return settings.VAR_DIR


@pytest.fixture(autouse=True, scope="session")
def audit_entries_flushable():  # type: ignore[no-untyped-def]
    """Let a transactional test's teardown flush the audit entries on SQLite.

    SQLite flushes with DELETE, which the append-only trigger rejects, so the flush drops the
    triggers first and creates them again after. PostgreSQL flushes with TRUNCATE, which the
    row-level trigger does not see.
    """
    from django.db import connection

    if connection.vendor != "sqlite":
        yield
        return
    # The backend module imports its operations module, which fails when imported first.
    from django.db.backends.sqlite3.base import DatabaseOperations

    from billguard.controls.triggers import SQLITE_CREATE, SQLITE_DROP, TABLE

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):  # type: ignore[no-untyped-def]
        statements = original(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        if TABLE not in tables:
            return statements
        return [*SQLITE_DROP, *statements, *SQLITE_CREATE]

    with pytest.MonkeyPatch.context() as patcher:
        patcher.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield


@pytest.fixture
def sample_users(monkeypatch: pytest.MonkeyPatch) -> dict[str, User]:
    """Install the roles and the sample users, and act as fran.finance through BILLGUARD_USER."""
    from django.contrib.auth.models import User

    from billguard.sample.users import sample_users_create

    sample_users_create()
    monkeypatch.setenv("BILLGUARD_USER", "fran.finance")
    return {user.get_username(): user for user in User.objects.all()}
