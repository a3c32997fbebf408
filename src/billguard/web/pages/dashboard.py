"""The dashboard: the figures that show whether the controls pay off, and their definitions."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from billguard.domain.errors import BillguardError
from billguard.insights.kpi_definitions import DEFINITIONS
from billguard.insights.kpis import last_complete_month, month_param, months_ending
from billguard.insights.snapshot import dashboard_figures, kpi_snapshot_refresh
from billguard.web.access import page
from billguard.web.forms import service_text
from billguard.web.pages.dashboard_cards import dashboard_cards


@page()
def dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    through_text = request.GET.get("through", "")
    error = ""
    try:
        last = month_param(through_text, today)
    except BillguardError as exc:
        error = service_text(exc)
        last = last_complete_month(today)
    periods = months_ending(last)
    snapshot = dashboard_figures(last)
    context = {
        "cards": dashboard_cards(snapshot.figures),
        "computed_at": snapshot.computed_at,
        "first": periods[0],
        "last": last,
        "through": through_text or last.label,
        "through_error": error,
    }
    return render(request, "web/dashboard.html", context, status=400 if error else 200)


@require_POST
@page()
def dashboard_refresh(request: HttpRequest) -> HttpResponse:
    """Compute the figures again at once, instead of waiting for the snapshot to age."""
    today = timezone.localdate()
    through_text = request.POST.get("through", "")
    try:
        last = month_param(through_text, today)
    except BillguardError as exc:
        messages.error(request, service_text(exc))
        return redirect(reverse("web:dashboard"))
    kpi_snapshot_refresh(last)
    messages.success(request, f"The figures of the twelve months to {last.label} are up to date.")
    return redirect(reverse("web:dashboard") + "?" + urlencode({"through": last.label}))


@page()
def kpi_definitions(request: HttpRequest) -> HttpResponse:
    return render(request, "web/dashboard/definitions.html", {"definitions": DEFINITIONS})


urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("dashboard/definitions/", kpi_definitions, name="kpi-definitions"),
    path("dashboard/refresh/", dashboard_refresh, name="dashboard-refresh"),
]
