"""The dashboard and the definitions of its figures, rendered for each role."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.utils import timezone

from billguard.billing.run import billing_run_execute
from billguard.domain.periods import parse_period
from billguard.insights.kpi_definitions import DEFINITIONS
from billguard.insights.models import KpiSnapshot
from tests.factories import make_contract

pytestmark = pytest.mark.django_db

SAMPLE_USERS = [
    "sam.sales",
    "pat.procurement",
    "fran.finance",
    "alex.approver",
    "ada.admin",
    "audrey.auditor",
]


@pytest.mark.parametrize("username", SAMPLE_USERS)
def test_dashboard_renders_for_role(signed_in, username) -> None:
    response = signed_in(username).get("/", {"through": "2026-11"})

    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    assert "<h1>Dashboard</h1>" in body
    assert "2025-12 to 2026-11" in body


@pytest.mark.parametrize("username", SAMPLE_USERS)
def test_definitions_render_for_role(signed_in, username) -> None:
    response = signed_in(username).get("/dashboard/definitions/")

    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    for definition in DEFINITIONS:
        assert f'id="{definition.anchor}"' in body
        assert definition.formula in body
        assert definition.edge_cases[0] in body


def test_dashboard_shows_each_formula_and_its_definition_link(signed_in) -> None:
    body = html.unescape(signed_in("fran.finance").get("/").content.decode())

    for definition in DEFINITIONS:
        assert definition.formula in body
        assert f'href="/dashboard/definitions/#{definition.anchor}"' in body
        assert re.search(f'<section class="card kpi[a-z ]*" id="{definition.anchor}"', body)


def test_dashboard_draws_figures_of_held_drafts(signed_in) -> None:
    make_contract("C-1", sow_document_id=None)
    make_contract("C-2", customer_code="CUST-2")
    billing_run_execute(period=parse_period("2026-11"))

    body = html.unescape(signed_in("fran.finance").get("/?through=2026-11").content.decode())

    # The Pareto chart and the table beside it name SOW_MISSING, the code of held C-1.
    assert '<title id="chart-pareto-title">Pareto of the ten most frequent' in body
    assert '<th scope="row">SOW_MISSING</th><td class="num">1</td>' in body
    # Money held, EUR 1,190.00 in one held draft, and C-2 issued untouched in November.
    assert "EUR 1,190.00" in body
    assert "now, 1 held drafts" in body
    assert '<th scope="row">2026-11</th><td class="num">100.0 %</td>' in body
    # Every chart has a title and a description that a screen reader reads.
    assert body.count('<svg class="chart"') == body.count("<desc id=")
    assert body.count('<svg class="chart"') >= 8


def test_dashboard_rejects_a_month_it_cannot_read(signed_in) -> None:
    response = signed_in("fran.finance").get("/", {"through": "2026-13"})

    assert response.status_code == 400
    body = html.unescape(response.content.decode())
    assert 'aria-invalid="true"' in body
    assert "2026-13" in body
    assert 'role="alert"' in body


def test_dashboard_needs_sign_in(client) -> None:
    assert client.get("/dashboard/definitions/").status_code == 302


def test_dashboard_queries_do_not_grow_with_invoices(signed_in, django_assert_max_num_queries):
    for index in range(1, 6):
        make_contract(f"C-{index}", customer_code=f"CUST-{index}")
    billing_run_execute(period=parse_period("2026-11"))
    client = signed_in("fran.finance")

    with django_assert_max_num_queries(30):
        response = client.get("/?through=2026-11")

    assert response.status_code == 200


def test_dashboard_reads_a_fresh_snapshot(signed_in, django_assert_max_num_queries):
    client = signed_in("fran.finance")
    client.get("/?through=2026-11")
    make_contract("C-1", sow_document_id=None)
    billing_run_execute(period=parse_period("2026-11"))

    with django_assert_max_num_queries(8):
        body = html.unescape(client.get("/?through=2026-11").content.decode())

    # The held draft came after the snapshot, so the page still shows none.
    assert '0</span> <span class="muted">held drafts now' in body
    assert KpiSnapshot.objects.get().through == "2026-11"


def test_dashboard_computes_a_stale_snapshot_again(signed_in):
    client = signed_in("fran.finance")
    client.get("/?through=2026-11")
    make_contract("C-1", sow_document_id=None)
    billing_run_execute(period=parse_period("2026-11"))
    KpiSnapshot.objects.update(computed_at=timezone.now() - dt.timedelta(hours=1))

    body = html.unescape(client.get("/?through=2026-11").content.decode())

    assert '1</span> <span class="muted">held drafts now' in body


def test_compute_again_shows_a_change_at_once(signed_in):
    client = signed_in("fran.finance")
    client.get("/?through=2026-11")
    make_contract("C-1", sow_document_id=None)
    billing_run_execute(period=parse_period("2026-11"))

    response = client.post("/dashboard/refresh/", {"through": "2026-11"}, follow=True)

    body = html.unescape(response.content.decode())
    assert "The figures of the twelve months to 2026-11 are up to date." in body
    assert '1</span> <span class="muted">held drafts now' in body


def test_compute_again_refuses_a_month_it_cannot_read(signed_in):
    client = signed_in("fran.finance")

    response = client.post("/dashboard/refresh/", {"through": "2026-13"})

    assert response.status_code == 302
    assert KpiSnapshot.objects.count() == 0
    page = html.unescape(client.get(response["Location"]).content.decode())
    assert "2026-13" in page


def test_compute_again_takes_no_get(signed_in):
    assert signed_in("fran.finance").get("/dashboard/refresh/").status_code == 405
