"""Helpers that tamper with the audit trail of the test database, bypassing its triggers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection

from billguard.controls.triggers import trigger_statements


@pytest.fixture(autouse=True)
def audit_key_from_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test uses the key file under its own var directory, not a key from the environment."""
    monkeypatch.delenv("BILLGUARD_AUDIT_KEY", raising=False)


@contextmanager
def triggers_bypassed() -> Iterator[None]:
    """Let UPDATE and DELETE through to the audit entries, as a database superuser could.

    PostgreSQL skips ordinary triggers in the replica session role. SQLite has no such
    switch, so the triggers are dropped and created again.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        else:
            for statement in trigger_statements(connection, create=False):
                cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET session_replication_role = DEFAULT")
            else:
                for statement in trigger_statements(connection, create=True):
                    cursor.execute(statement)
