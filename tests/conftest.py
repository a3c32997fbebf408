"""Shared fixtures. The database is the one BILLGUARD_DATABASE_URL names (SQLite or PostgreSQL)."""

from pathlib import Path

import pytest

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
    return settings.VAR_DIR
