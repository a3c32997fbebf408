"""The billing runs: the list with the form that starts one, and each run's progress and report.

Starting a run records it and hands it to the starter of billguard.web.background, which
carries it out outside the request. The run's page then follows the run's chunk rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.db.models.fields.json import KeyTransform
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path

from billguard.billing.models import BillingRun, Invoice
from billguard.billing.report import run_report, stored_report
from billguard.billing.run import (
    billing_run_fail,
    billing_run_record,
    run_mode_from_environment,
    run_result_load,
)
from billguard.billing.selectors import billing_run_progress
from billguard.domain.errors import BillguardError
from billguard.domain.periods import parse_period
from billguard.web.access import page, require
from billguard.web.background import run_in_this_process, run_starter
from billguard.web.forms import PageForm, add_service_error
from billguard.web.paging import PAGE_SIZE, paginate

logger = logging.getLogger(__name__)

# Seconds between two reads of a running run's progress by the page.
POLL_SECONDS = 2


class StartRunForm(PageForm):
    period = forms.CharField(label="Period", max_length=20)
    dry_run = forms.BooleanField(label="Dry run (draft and check, issue nothing)", required=False)


@page()
def billing_runs(request: HttpRequest) -> HttpResponse:
    form = StartRunForm()
    if request.method == "POST":
        require(request.user, "billing_run")  # type: ignore[arg-type]
        form = StartRunForm(request.POST)
        run = _start(request, form)
        if run is not None:
            kind = "Dry run" if run.dry_run else "Billing run"
            messages.success(
                request,
                f"{kind} {run.pk} for {run.period_label} started. This page shows its "
                "progress, then its report.",
            )
            return redirect("web:billing-run", run_id=run.pk)
    runs = paginate(request, _runs_listed())
    return render(
        request,
        "web/billing_runs/list.html",
        {"form": form, "page": runs},
        status=400 if form.errors else 200,
    )


@page()
def billing_run(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(BillingRun.objects.defer("report"), pk=run_id)
    context: dict[str, Any] = {
        "run": run,
        "progress": billing_run_progress(run.pk),
        "poll_seconds": POLL_SECONDS,
    }
    if run.status == BillingRun.Status.COMPLETED:
        report = _report(run, planned=context["progress"].planned)
        context["report"] = report
        if not run.dry_run:
            held_first = report is None or report.get("invoices_held", 0) > 0
            context["invoices"] = _run_invoices(request, run, held_first=held_first)
    return render(request, "web/billing_runs/detail.html", context)


@page()
def billing_run_progress_fragment(request: HttpRequest, run_id: int) -> HttpResponse:
    """Render the progress panel alone, for htmx to poll while the run is running."""
    run = get_object_or_404(
        BillingRun.objects.only("pk", "status", "dry_run", "error", "finished_at"), pk=run_id
    )
    response = render(
        request,
        "web/billing_runs/_progress.html",
        {"run": run, "progress": billing_run_progress(run.pk), "poll_seconds": POLL_SECONDS},
    )
    if run.status != BillingRun.Status.RUNNING and request.headers.get("HX-Request"):
        # The run ended: load the whole page again, which shows the report instead.
        response["HX-Refresh"] = "true"
    return response


def _start(request: HttpRequest, form: StartRunForm) -> BillingRun | None:
    """Validate the form, record the run and hand it over; return None if that was rejected."""
    if not form.is_valid():
        return None
    try:
        period = parse_period(form.cleaned_data["period"], place="period")
        dry_run = bool(form.cleaned_data["dry_run"])
        queue = not dry_run and run_mode_from_environment() == BillingRun.Mode.QUEUE
        if queue:
            from billguard.billing.queue import queue_check_ready

            queue_check_ready()
        run = billing_run_record(period=period, dry_run=dry_run, queue=queue, by=request.user)  # type: ignore[arg-type]
    except BillguardError as error:
        add_service_error(form, error)
        return None

    try:
        run_starter()(run)
    except (BillguardError, OSError) as error:
        billing_run_fail(run=run, error=error)
        form.add_error(None, f"Billing run {run.pk} could not be started: {error}")
        return None
    return run


# The text of where a run is carried out, by its mode and where it was started. The mode's
# own label ("in the calling process") is wrong for a run this page handed to a background
# process.
_CARRIED_OUT: dict[tuple[str, str], str] = {
    (BillingRun.Mode.PROCESS, BillingRun.StartedFrom.WEB): (
        "in a background process started from the billing runs page"
    ),
    (BillingRun.Mode.PROCESS, BillingRun.StartedFrom.CLI): (
        "in the process of the command that started it, on the command line"
    ),
    (BillingRun.Mode.PROCESS, BillingRun.StartedFrom.API): (
        "in the web server, within the REST API request that started it"
    ),
    (BillingRun.Mode.QUEUE, BillingRun.StartedFrom.WEB): (
        "on queue workers, started from the billing runs page"
    ),
    (BillingRun.Mode.QUEUE, BillingRun.StartedFrom.CLI): (
        "on queue workers, started from the command line"
    ),
    (BillingRun.Mode.QUEUE, BillingRun.StartedFrom.API): (
        "on queue workers, started through the REST API"
    ),
    (BillingRun.Mode.QUEUE, ""): "on queue workers",
}


_IN_THE_REQUEST = "in the web server, within the request from the billing runs page that started it"


def run_carried_out(run: BillingRun) -> str:
    """Describe where ``run`` is carried out and where it was started, for a finance reader.

    A page run in process goes to the starter of BILLGUARD_RUN_STARTER, a setting of the
    deployment that runs do not record, so the text follows the setting in force.
    """
    key = (run.mode, run.started_from)
    page_run = key == (BillingRun.Mode.PROCESS, BillingRun.StartedFrom.WEB)
    if page_run and run_starter() is run_in_this_process:
        return _IN_THE_REQUEST
    return _CARRIED_OUT.get(key, "in the process that started it")


def _runs_listed() -> QuerySet[BillingRun]:
    """Select the runs, newest first, with the report's totals but not the rest of it."""
    return (
        BillingRun.objects.defer("report")
        .annotate(
            issued_total=KeyTransform("issued_total", "report"),
            held_total=KeyTransform("held_total", "report"),
        )
        .order_by("-started_at", "-pk")
    )


# The keys of the stored report that the run's page shows. The list of held drafts is read
# only for a dry run, whose invoices are not stored: a real run lists them from its invoices.
REPORT_KEYS = (
    "dry_run",
    "contracts_considered",
    "invoices_issued",
    "issued_total",
    "invoices_held",
    "held_total",
    "already_issued",
    "nothing_to_bill",
    "chunks",
    "chunks_retried",
    "findings_by_code",
    "observed",
)


def _report(run: BillingRun, *, planned: bool) -> dict[str, Any] | None:
    """Return the gate report stored with the run, else build it from the run's chunks.

    Return None for a run without either, such as the sample company's invoice history.
    """
    keys = (*REPORT_KEYS, "held") if run.dry_run else REPORT_KEYS
    stored = (
        BillingRun.objects.filter(pk=run.pk, report__isnull=False)
        .values(**{f"report_{key}": KeyTransform(key, "report") for key in keys})
        .first()
    )
    if stored is not None:
        values = cast(dict[str, Any], stored)
        return {key: values[f"report_{key}"] for key in keys}
    if not planned:
        return None
    # NOTE: for a run completed before runs stored their report, this reads every chunk's
    # outcomes (one item per draft), so the page slows down with the size of that run.
    return stored_report(run_report(run_result_load(run)))


@dataclass
class InvoiceList:
    """One page of a run's held drafts or issued invoices, paged by invoice id."""

    status: str
    rows: list[Invoice]
    previous_query: str
    next_query: str


def _run_invoices(request: HttpRequest, run: BillingRun, *, held_first: bool) -> InvoiceList:
    """Page through the run's invoices of one status by id (``after``/``before``).

    Paging by id rather than by offset costs the same on the last page of 100k invoices as on
    the first, with the index on (billing_run, status, id).
    """
    default = Invoice.Status.HELD if held_first else Invoice.Status.ISSUED
    status = request.GET.get("invoices", default)
    if status not in (Invoice.Status.HELD, Invoice.Status.ISSUED):
        status = default
    invoices = (
        Invoice.objects.filter(billing_run=run, status=status)
        .select_related("contract")
        .only("pk", "number", "status", "currency", "payable", "contract__number")
    )
    after, before = _id_parameter(request, "after"), _id_parameter(request, "before")
    if before is not None:
        rows = list(invoices.filter(pk__lt=before).order_by("-pk")[: PAGE_SIZE + 1])
        more_before = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE][::-1]
        more_after = True
    else:
        if after is not None:
            invoices = invoices.filter(pk__gt=after)
        rows = list(invoices.order_by("pk")[: PAGE_SIZE + 1])
        more_after = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        more_before = after is not None
    return InvoiceList(
        status=status,
        rows=rows,
        previous_query=f"?invoices={status}&before={rows[0].pk}" if rows and more_before else "",
        next_query=f"?invoices={status}&after={rows[-1].pk}" if rows and more_after else "",
    )


def _id_parameter(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "")
    return int(raw) if raw.isdigit() else None


urlpatterns = [
    path("billing-runs/", billing_runs, name="billing-runs"),
    path("billing-runs/<int:run_id>/", billing_run, name="billing-run"),
    path(
        "billing-runs/<int:run_id>/progress/",
        billing_run_progress_fragment,
        name="billing-run-progress",
    ),
]
