"""The benchmark's own database: dropped and created again before each book is written."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

DEFAULT_POSTGRES_URL = "postgresql://root@127.0.0.1:5432/billguard_bench"


def recreate_database(url: str) -> None:
    """Drop and create the database that ``url`` names, so the book starts from empty tables.

    A PostgreSQL database is dropped through the server's ``postgres`` database; a SQLite
    database is a file that is deleted with its journal files.
    """
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = Path(parts.path)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    if not parts.scheme.startswith("postgres"):
        raise ValueError(f"unsupported database URL scheme {parts.scheme!r} in {url}")
    name = parts.path.lstrip("/")
    if not name or name in {"postgres", "template0", "template1"}:
        raise ValueError(
            f"the benchmark drops and recreates its database, so it does not use {name!r}; "
            "name a database of its own, such as billguard_bench"
        )
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def configure_django(url: str, var_dir: Path) -> None:
    """Point Billguard's settings at ``url`` and ``var_dir``, then set Django up."""
    os.environ["BILLGUARD_DATABASE_URL"] = url
    os.environ["BILLGUARD_VAR_DIR"] = str(var_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billguard.settings")
    import django

    django.setup()
