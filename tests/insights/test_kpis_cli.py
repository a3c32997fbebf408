"""The `billguard kpis refresh` command."""

from __future__ import annotations

import pytest

from billguard.billing.run import billing_run_execute
from billguard.cli.main import EXIT_BAD_INPUT, EXIT_OK, main
from billguard.domain.periods import parse_period
from billguard.insights.models import KpiSnapshot
from tests.factories import make_contract

pytestmark = pytest.mark.django_db


def test_refresh_stores_the_snapshot(capsys: pytest.CaptureFixture[str]) -> None:
    make_contract()
    billing_run_execute(period=parse_period("2026-11"))

    assert main(["kpis", "refresh", "--through", "2026-11"]) == EXIT_OK

    assert "Dashboard figures through 2026-11 computed in" in capsys.readouterr().out
    snapshot = KpiSnapshot.objects.get()
    assert snapshot.through == "2026-11"
    assert snapshot.figures["periods"][-1] == "2026-11"
    assert snapshot.figures["touchless_rate"][-1] == "1.0000"


def test_refresh_rejects_a_quarter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kpis", "refresh", "--through", "2026-Q4"]) == EXIT_BAD_INPUT

    assert "2026-Q4" in capsys.readouterr().err
    assert not KpiSnapshot.objects.exists()
