"""The billing runs pages: starting a run, following its progress, reading its report."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import pytest
from django.db import connection

from billguard.billing.models import BillingRun, Invoice
from billguard.billing.report import run_report
from billguard.billing.run import (
    RunIncomplete,
    billing_run_execute,
    billing_run_fail,
    billing_run_record,
    run_result_load,
)
from billguard.cli.main import main
from billguard.domain.errors import RuleViolation
from billguard.domain.periods import parse_period
from tests.factories import make_contract

pytestmark = pytest.mark.django_db(transaction=True)

IN_PROCESS = "billguard.web.background.run_in_this_process"
NOT_STARTED = "tests.web.test_billing_runs.leave_recorded"


def leave_recorded(run: BillingRun) -> None:
    """A starter that starts nothing, so that the run stays as the page recorded it."""


@pytest.fixture
def in_process(settings) -> None:  # type: ignore[no-untyped-def]
    settings.BILLGUARD_RUN_STARTER = IN_PROCESS


def three_contracts() -> None:
    """Two clean contracts and one without its SOW, each of another customer."""
    make_contract("C-1", customer_code="CUST-A", customer_po="PO-1")
    make_contract("C-2", customer_code="CUST-B", customer_po="PO-2")
    make_contract("C-3", customer_code="CUST-C", customer_po="PO-3", sow_document_id=None)


def test_start_run_issues_and_shows_report(signed_in, in_process):
    three_contracts()
    client = signed_in("fran.finance")

    response = client.post("/billing-runs/", {"period": "2026-11"})

    run = BillingRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/billing-runs/{run.pk}/"
    assert run.status == BillingRun.Status.COMPLETED
    assert run.started_by == "fran.finance"
    assert Invoice.objects.filter(status=Invoice.Status.ISSUED).count() == 2
    assert Invoice.objects.filter(status=Invoice.Status.HELD).count() == 1

    page = client.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 200
    assert f"Billing run {run.pk} for 2026-11 started" in body
    assert "Invoices issued" in body
    assert "SOW_MISSING" in body


def test_report_figures_equal_service_report(signed_in, in_process):
    three_contracts()
    client = signed_in("fran.finance")
    client.post("/billing-runs/", {"period": "2026-11"})
    run = BillingRun.objects.get()

    page = client.get(f"/billing-runs/{run.pk}/")

    expected = run_report(run_result_load(run))
    shown = page.context["report"]
    for key in (
        "contracts_considered",
        "invoices_issued",
        "invoices_held",
        "issued_total",
        "held_total",
        "already_issued",
        "nothing_to_bill",
        "findings_by_code",
    ):
        assert shown[key] == expected[key], key
    body = page.content.decode()
    assert expected["issued_total"] == {"EUR": "2380.00"}
    assert "EUR 2,380.00" in body
    for row in expected["findings_by_code"]:
        assert f"<code>{row['code']}</code>" in body


def test_report_links_held_drafts_and_invoices(signed_in, in_process):
    three_contracts()
    client = signed_in("fran.finance")
    client.post("/billing-runs/", {"period": "2026-11"})
    run = BillingRun.objects.get()

    held_tab = client.get(f"/billing-runs/{run.pk}/").content.decode()
    issued_tab = client.get(f"/billing-runs/{run.pk}/", {"invoices": "issued"}).content.decode()

    held = Invoice.objects.get(status=Invoice.Status.HELD)
    assert f'<a href="/exceptions/{held.pk}/">Held draft {held.pk}</a>' in held_tab
    assert 'href="?invoices=held" aria-current="page">Held drafts (1)' in held_tab
    assert 'href="?invoices=issued" aria-current="page">Issued invoices (2)' in issued_tab
    assert f'href="/exceptions/{held.pk}/"' not in issued_tab
    for invoice in Invoice.objects.filter(status=Invoice.Status.ISSUED):
        assert f'href="/invoices/{invoice.pk}/">{invoice.number}</a>' in issued_tab
        assert f'href="/invoices/{invoice.pk}/"' not in held_tab


def test_run_invoices_paged_by_id(signed_in, in_process, monkeypatch):
    three_contracts()
    client = signed_in("fran.finance")
    client.post("/billing-runs/", {"period": "2026-11"})
    run = BillingRun.objects.get()
    first, second = Invoice.objects.filter(status=Invoice.Status.ISSUED).order_by("pk")
    monkeypatch.setattr("billguard.web.pages.billing_runs.PAGE_SIZE", 1)

    page_one = client.get(f"/billing-runs/{run.pk}/", {"invoices": "issued"})
    page_two = client.get(
        f"/billing-runs/{run.pk}/", {"invoices": "issued", "after": str(first.pk)}
    )
    back = client.get(f"/billing-runs/{run.pk}/", {"invoices": "issued", "before": str(second.pk)})

    assert [i.pk for i in page_one.context["invoices"].rows] == [first.pk]
    assert page_one.context["invoices"].next_query == f"?invoices=issued&after={first.pk}"
    assert page_one.context["invoices"].previous_query == ""
    assert [i.pk for i in page_two.context["invoices"].rows] == [second.pk]
    assert page_two.context["invoices"].next_query == ""
    assert page_two.context["invoices"].previous_query == f"?invoices=issued&before={second.pk}"
    assert [i.pk for i in back.context["invoices"].rows] == [first.pk]


def test_dry_run_stores_report_not_invoices(signed_in, in_process):
    three_contracts()
    client = signed_in("fran.finance")

    response = client.post("/billing-runs/", {"period": "2026-11", "dry_run": "on"})

    run = BillingRun.objects.get()
    assert response.status_code == 302
    assert run.dry_run
    assert run.status == BillingRun.Status.COMPLETED
    assert Invoice.objects.count() == 0
    page = client.get(f"/billing-runs/{run.pk}/")
    body = page.content.decode()
    assert page.context["report"]["invoices_issued"] == 2
    assert page.context["report"]["invoices_held"] == 1
    assert "Invoices clean (would issue)" in body
    assert 'href="/contracts/C-3/"' in body


def test_invalid_period_shown_next_to_field(signed_in, in_process):
    client = signed_in("fran.finance")

    response = client.post("/billing-runs/", {"period": "2026-13"})

    body = response.content.decode()
    assert response.status_code == 400
    assert BillingRun.objects.count() == 0
    errors = re.search(r'<ul class="errors" id="id_period_error"[^>]*>(.*?)</ul>', body, re.S)
    assert errors is not None
    assert "2026-13" in errors.group(1)
    assert 'aria-invalid="true"' in body


def test_empty_period_shown_next_to_field(signed_in, in_process):
    client = signed_in("fran.finance")

    response = client.post("/billing-runs/", {"period": ""})

    assert response.status_code == 400
    assert 'id="id_period_error"' in response.content.decode()


def test_progress_fragment_follows_chunks(signed_in, sample_users):
    three_contracts()
    client = signed_in("fran.finance")
    run = billing_run_record(period=parse_period("2026-11"), by=sample_users["fran.finance"])
    url = f"/billing-runs/{run.pk}/progress/"
    before = client.get(url, HTTP_HX_REQUEST="true")
    seen: list[tuple[int, int, str, bool]] = []

    def read_fragment(done: int, total: int) -> None:
        response = client.get(url, HTTP_HX_REQUEST="true")
        seen.append((done, total, response.content.decode(), "HX-Refresh" in response))

    billing_run_execute(
        period=parse_period("2026-11"), chunk_size=1, progress=read_fragment, run_id=run.pk
    )
    after = client.get(url, HTTP_HX_REQUEST="true")

    assert "Selecting the contracts to bill" in before.content.decode()
    assert "HX-Refresh" not in before
    assert [(done, total) for done, total, _, _ in seen] == [(1, 3), (2, 3), (3, 3)]
    for done, total, body, refresh in seen:
        assert f'max="{total}" value="{done}"' in body
        assert f"{done} of {total}" in body
        assert not refresh
    assert after["HX-Refresh"] == "true"
    assert "The run is completed: 3 of 3 chunks done." in after.content.decode()


def test_running_page_polls_progress(signed_in, settings):
    settings.BILLGUARD_RUN_STARTER = NOT_STARTED
    make_contract()
    client = signed_in("fran.finance")

    response = client.post("/billing-runs/", {"period": "2026-11"}, follow=True)

    run = BillingRun.objects.get()
    body = response.content.decode()
    assert run.status == BillingRun.Status.RUNNING
    assert f'hx-get="/billing-runs/{run.pk}/progress/"' in body
    assert 'hx-trigger="every 2s"' in body
    assert f'<a href="/billing-runs/{run.pk}/">Reload this page</a>' in body


def test_mode_names_where_run_started(signed_in, settings, capsys):
    settings.BILLGUARD_RUN_STARTER = NOT_STARTED
    make_contract()
    client = signed_in("fran.finance")

    client.post("/billing-runs/", {"period": "2026-11"})
    main(["--user", "fran.finance", "run", "--period", "2026-10"])

    from_page = BillingRun.objects.get(period_label="2026-11")
    from_command = BillingRun.objects.get(period_label="2026-10")
    assert from_page.started_from == BillingRun.StartedFrom.WEB
    assert from_command.started_from == BillingRun.StartedFrom.CLI
    listed = client.get("/billing-runs/").content.decode()
    detail = client.get(f"/billing-runs/{from_page.pk}/").content.decode()
    page_text = "in a background process started from the billing runs page"
    command_text = "in the process of the command that started it, on the command line"
    assert f"<td>{page_text}</td>" in listed
    assert f"<td>{command_text}</td>" in listed
    assert f"<dt>Mode</dt><dd>{page_text}</dd>" in detail
    assert "in the calling process" not in listed + detail


def test_mode_of_page_run_in_web_server(signed_in, in_process):
    make_contract()
    client = signed_in("fran.finance")

    client.post("/billing-runs/", {"period": "2026-11"})

    run = BillingRun.objects.get(period_label="2026-11")
    assert run.status == BillingRun.Status.COMPLETED
    detail = client.get(f"/billing-runs/{run.pk}/").content.decode()
    text = "in the web server, within the request from the billing runs page that started it"
    assert f"<dt>Mode</dt><dd>{text}</dd>" in detail
    assert "background process" not in detail


def test_failed_run_shows_error(signed_in, sample_users):
    client = signed_in("fran.finance")
    run = billing_run_record(period=parse_period("2026-11"), by=sample_users["fran.finance"])

    billing_run_fail(run=run, error=RunIncomplete("chunk 2 of the run failed on a worker"))

    body = client.get(f"/billing-runs/{run.pk}/").content.decode()
    assert "The run failed" in body
    # The stored text follows a place on the command line; shown on its own, it is a sentence.
    assert '<p class="error">Chunk 2 of the run failed on a worker</p>' in body
    assert "hx-get" not in body


def test_run_carried_out_twice_refused(sample_users):
    make_contract()
    period = parse_period("2026-11")
    run = billing_run_record(period=period, by=sample_users["fran.finance"])
    billing_run_execute(period=period, run_id=run.pk)

    with pytest.raises(RuleViolation, match="already carried out"):
        billing_run_execute(period=period, run_id=run.pk)

    assert BillingRun.objects.get().status == BillingRun.Status.COMPLETED
    assert Invoice.objects.count() == 1


def test_invalid_run_mode_shown_on_form(signed_in, in_process, monkeypatch):
    monkeypatch.setenv("BILLGUARD_RUN_MODE", "sometimes")
    client = signed_in("fran.finance")

    response = client.post("/billing-runs/", {"period": "2026-11"})

    assert response.status_code == 400
    assert "BILLGUARD_RUN_MODE is &#x27;sometimes&#x27;" in response.content.decode()
    assert BillingRun.objects.count() == 0


def test_list_shows_runs_with_totals(signed_in, in_process, django_assert_max_num_queries):
    three_contracts()
    client = signed_in("fran.finance")
    for period in ("2026-10", "2026-11", "2026-12"):
        client.post("/billing-runs/", {"period": period})

    with django_assert_max_num_queries(8):
        response = client.get("/billing-runs/")

    body = response.content.decode()
    runs = list(BillingRun.objects.order_by("-pk"))
    assert len(runs) == 3
    for run in runs:
        assert f'<a href="/billing-runs/{run.pk}/">Run {run.pk}</a>' in body
    assert body.index("<td>2026-12</td>") < body.index("<td>2026-10</td>")
    assert body.count("EUR 2,380.00") == 3
    assert body.count("EUR 1,190.00") == 3


def test_sales_sees_runs_without_start_form(signed_in):
    response = signed_in("sam.sales").get("/billing-runs/")

    assert response.status_code == 200
    assert "Start the billing run" not in response.content.decode()


@pytest.mark.parametrize("username", ["sam.sales", "audrey.auditor", "pat.procurement"])
def test_start_refused_without_billing_run(signed_in, in_process, username):
    response = signed_in(username).post("/billing-runs/", {"period": "2026-11"})

    assert response.status_code == 403
    assert "may not start a billing run" in response.content.decode()
    assert BillingRun.objects.count() == 0


def test_unknown_run_is_not_found(signed_in):
    assert signed_in("fran.finance").get("/billing-runs/999/").status_code == 404


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="the test database is in memory on SQLite, which another process cannot open",
)
def test_background_run_completes_in_child_process(signed_in):
    make_contract("C-1", customer_code="CUST-A", customer_po="PO-1")
    make_contract("C-2", customer_code="CUST-B", customer_po="PO-2", sow_document_id=None)
    client = signed_in("fran.finance")

    response = client.post("/billing-runs/", {"period": "2026-11"})
    run_page = response["Location"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = client.get(run_page).content.decode()
        if "The run is completed" in body or "The run failed" in body:
            break
        time.sleep(0.5)

    run = BillingRun.objects.get()
    assert run.status == BillingRun.Status.COMPLETED, run.error
    assert "The run is completed: 1 of 1 chunks done." in body
    issued = Invoice.objects.get(status=Invoice.Status.ISSUED)
    held = Invoice.objects.get(status=Invoice.Status.HELD)
    issued_tab = client.get(run_page, {"invoices": "issued"}).content.decode()
    assert issued.payable == Decimal("1190.00")
    assert f'href="/exceptions/{held.pk}/"' in body
    assert f'href="/invoices/{issued.pk}/"' in issued_tab
    assert run.report is not None
    assert run.report["invoices_held"] == 1
