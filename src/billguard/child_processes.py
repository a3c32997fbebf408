"""The environment of a child process that must use the database and files of this one.

A billing run started from a page is carried out by a ``billguard run`` child, and a long
run writes its files in a second process. Each must open the database this process uses,
which under a test runner is the test database rather than the configured one.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection


def database_url_in_use() -> str | None:
    """Return the URL of the database this process uses, or None for an in-memory SQLite
    database, which no other process can open."""
    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite":
        if name == ":memory:" or "mode=memory" in name:
            return None
        return f"sqlite:///{name}"
    configured = os.environ.get("BILLGUARD_DATABASE_URL", "")
    parts = urlsplit(configured)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def child_environment(database_url: str) -> dict[str, str]:
    """Copy this process's environment, pointed at ``database_url`` and the var directory in
    use."""
    environment = dict(os.environ)
    environment["BILLGUARD_DATABASE_URL"] = database_url
    environment["BILLGUARD_VAR_DIR"] = str(settings.VAR_DIR)
    environment.setdefault("DJANGO_SETTINGS_MODULE", "billguard.settings")
    return environment
