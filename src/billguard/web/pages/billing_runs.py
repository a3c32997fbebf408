"""The billing runs: the list with the form that starts one, and each run's progress and report.

Starting a run records it and hands it to the starter of billguard.web.background, which
carries it out outside the request; the page then follows the run's chunk rows.
"""

from __future__ import annotations

import logging
from typing import Any

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
from billguard.web.background import run_starter
from billguard.web.forms import add_service_error
from billguard.web.paging import paginate

logger = logging.getLogger(__name__)

# Seconds between two reads of a running run's progress by the page.
POLL_SECONDS = 2


class StartRunForm(forms.Form):
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
        context["report"] = _report(run, planned=context["progress"].planned)
        if not run.dry_run:
            context["invoices"] = paginate(request, _run_invoices(run))
    return render(request, "web/billing_runs/detail.html", context)


@page()
def billing_run_progress_fragment(request: HttpRequest, run_id: int) -> HttpResponse:
    """The progress panel alone, for htmx to poll while the run is running."""
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
    """Validate the form, record the run and hand it to the starter; None when refused."""
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


def _runs_listed() -> QuerySet[BillingRun]:
    """The runs, newest first, with the report's totals but not the rest of the report."""
    return (
        BillingRun.objects.defer("report")
        .annotate(
            issued_total=KeyTransform("issued_total", "report"),
            held_total=KeyTransform("held_total", "report"),
        )
        .order_by("-started_at", "-pk")
    )


def _report(run: BillingRun, *, planned: bool) -> dict[str, Any] | None:
    """The gate report stored with the run, or built from its chunks for a run without one.

    None for a run without either, such as the sample company's invoice history.
    """
    stored = BillingRun.objects.filter(pk=run.pk).values_list("report", flat=True).first()
    if stored:
        return dict(stored)
    if not planned:
        return None
    # NOTE: a run completed before reports were stored reads every chunk's outcomes here,
    # which is slower on a large run; a completed run stores its report.
    return stored_report(run_report(run_result_load(run)))


def _run_invoices(run: BillingRun) -> QuerySet[Invoice]:
    return (
        Invoice.objects.filter(billing_run=run)
        .select_related("contract")
        .only(
            "pk",
            "number",
            "status",
            "currency",
            "payable",
            "contract__number",
            "draft_key",
        )
        .order_by("status", "pk")
    )


urlpatterns = [
    path("billing-runs/", billing_runs, name="billing-runs"),
    path("billing-runs/<int:run_id>/", billing_run, name="billing-run"),
    path(
        "billing-runs/<int:run_id>/progress/",
        billing_run_progress_fragment,
        name="billing-run-progress",
    ),
]
