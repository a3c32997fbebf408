"""The exception queue: held drafts with their blocking findings, filtered and sorted."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from billguard.billing.models import ExceptionAssignment, Invoice
from billguard.checks.models import StoredFinding
from billguard.web.access import page
from billguard.web.pages.exceptions.forms import QueueFilterForm
from billguard.web.pages.htmx import table_only
from billguard.web.paging import paginate

ORDERINGS = {
    "oldest": ("held_since", "pk"),
    "newest": ("-held_since", "-pk"),
    "amount_desc": ("-payable", "pk"),
    "amount_asc": ("payable", "pk"),
}


@page()
def exception_queue(request: HttpRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_bound:
        form.is_valid()
        filters = form.cleaned_data
    sort = filters.get("sort") or "oldest"
    rows = paginate(request, held_drafts(filters, user_id=int(request.user.pk or 0), sort=sort))
    _page_figures_add(rows.rows)
    context = {"form": form, "page": rows, "sort": sort, "sort_links": _sort_links(request, sort)}
    if table_only(request):
        context["partial"] = True
        return render(request, "web/exceptions/_table.html", context)
    return render(request, "web/exceptions/queue.html", context)


def held_drafts(filters: dict[str, Any], *, user_id: int, sort: str) -> QuerySet[Invoice]:
    """Held drafts matching ``filters``, sorted, with their customer, contract and findings.

    The sorted query reads the held drafts' own columns and joins nothing, so sorting and
    skipping to a later page stay cheap with many contracts. The contracts, customers,
    bill-to entities and blocking findings of the page come in one query each.
    """
    held = Invoice.objects.filter(status=Invoice.Status.HELD).prefetch_related(
        "contract__party",
        "bill_to",
        Prefetch(
            "findings",
            queryset=StoredFinding.objects.filter(
                severity=StoredFinding.Severity.BLOCK, observed=False
            ).order_by("code", "pk"),
            to_attr="blocking",
        ),
    )

    if filters.get("code"):
        blocking = StoredFinding.objects.filter(
            invoice=OuterRef("pk"),
            severity=StoredFinding.Severity.BLOCK,
            observed=False,
            code=filters["code"],
        )
        held = held.filter(Exists(blocking))
    if filters.get("customer") is not None:
        held = held.filter(contract__party_id__in=filters["customer"])
    if filters.get("min_days") is not None:
        held = held.filter(held_since__lte=timezone.now() - dt.timedelta(days=filters["min_days"]))
    if filters.get("min_amount") is not None:
        held = held.filter(payable__gte=filters["min_amount"])
    if filters.get("max_amount") is not None:
        held = held.filter(payable__lte=filters["max_amount"])
    if filters.get("mine"):
        mine = ExceptionAssignment.objects.filter(assignee_id=user_id).values("draft_key")
        held = held.filter(draft_key__in=mine)
    return held.order_by(*ORDERINGS.get(sort, ORDERINGS["oldest"]))


def _page_figures_add(invoices: list[Any]) -> None:
    """Set days held, money at stake and assignee on the page's drafts, in one query."""
    assignees = dict(
        ExceptionAssignment.objects.filter(
            draft_key__in=[i.draft_key for i in invoices if i.draft_key]
        ).values_list("draft_key", "assignee__username")
    )
    now = timezone.now()
    for invoice in invoices:
        invoice.days_held = (now - invoice.held_since).days
        amounts = [f.amount_at_stake for f in invoice.blocking if f.amount_at_stake is not None]
        invoice.at_stake = sum(amounts, Decimal(0)) if amounts else None
        invoice.assignee_name = assignees.get(invoice.draft_key or "", "")


def _sort_links(request: HttpRequest, sort: str) -> dict[str, dict[str, str]]:
    """Column header links: each toggles its column's direction and keeps the filters."""

    def link(key: str) -> str:
        query = request.GET.copy()
        query["sort"] = key
        query.pop("page", None)
        return "?" + query.urlencode()

    age = "newest" if sort == "oldest" else "oldest"
    amount = "amount_asc" if sort == "amount_desc" else "amount_desc"
    return {
        "age": {
            "href": link(age),
            "aria_sort": {"oldest": "descending", "newest": "ascending"}.get(sort, "none"),
        },
        "amount": {
            "href": link(amount),
            "aria_sort": {"amount_desc": "descending", "amount_asc": "ascending"}.get(sort, "none"),
        },
    }
