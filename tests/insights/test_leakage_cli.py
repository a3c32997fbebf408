"""``billguard audit leakage`` as a user runs it: the three formats, --output and bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from billguard.cli.main import EXIT_BAD_INPUT, EXIT_OK, main
from tests.insights.history_world import build_world

pytestmark = pytest.mark.django_db


def test_table_lists_sections(capsys: pytest.CaptureFixture[str]) -> None:
    build_world(seed=7, contracts=8)

    assert main(["audit", "leakage", "--since", "2026-01-01"]) == EXIT_OK

    out = capsys.readouterr().out
    assert "Leakage audit of the imported invoice history (2026-01-01 to" in out
    for title in ("Totals", "By finding code", "By customer", "By contract"):
        assert f"\n{title}\n" in out
    assert "Top exception types" in out
    assert "Contracts to fix first" in out


def test_json_matches_table_totals(capsys: pytest.CaptureFixture[str]) -> None:
    build_world(seed=7, contracts=8)

    assert main(["audit", "leakage", "--format", "json", "--top", "0"]) == EXIT_OK

    document = json.loads(capsys.readouterr().out)
    assert document["engine"] in ("postgresql", "duckdb")
    findings = sum(total["findings"] for total in document["totals"])
    by_code = sum(row["findings"] for row in document["by_code"])
    assert findings == by_code
    assert len(document["top_exception_types"]) <= 10
    assert document["remediation"][0]["rank"] == 1


def test_csv_to_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_world(seed=7, contracts=8)
    target = tmp_path / "leakage.csv"

    assert main(["audit", "leakage", "--format", "csv", "--output", str(target)]) == EXIT_OK

    assert "leakage report written to" in capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    sections = {row["section"] for row in rows}
    assert {"total", "code", "customer", "contract", "top_exception_type"} <= sections
    assert "remediation" in sections


def test_top_limits_lists(capsys: pytest.CaptureFixture[str]) -> None:
    build_world(seed=7, contracts=8)

    assert main(["audit", "leakage", "--format", "json", "--top", "2"]) == EXIT_OK

    document = json.loads(capsys.readouterr().out)
    assert len(document["by_contract"]) == 2
    assert len(document["remediation"]) == 2


def test_bad_since_date_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["audit", "leakage", "--since", "2026-13-01"])

    assert stopped.value.code == EXIT_BAD_INPUT
    assert "'2026-13-01' is not a date" in capsys.readouterr().err


def test_empty_history_reports_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "leakage"]) == EXIT_OK

    out = capsys.readouterr().out
    assert "no imported invoices" in out
    assert "No findings" in out


def test_postgresql_engine_needs_postgresql(capsys: pytest.CaptureFixture[str]) -> None:
    from django.db import connection

    status = main(["audit", "leakage", "--engine", "postgresql"])

    if connection.vendor == "postgresql":
        assert status == EXIT_OK
        assert "Leakage audit" in capsys.readouterr().out
    else:
        assert status == EXIT_BAD_INPUT
        assert "needs a PostgreSQL database" in capsys.readouterr().err
