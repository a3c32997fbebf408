"""The invoice list: issued invoices and credit notes, found by number, customer or period."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from billguard.billing.models import Invoice
from billguard.domain.errors import InvalidInput
from billguard.domain.periods import BillingPeriod, parse_period
from billguard.web.access import page
from billguard.web.forms import PageForm
from billguard.web.pages.customer_filter import customer_ids
from billguard.web.pages.htmx import table_only
from billguard.web.paging import paginate

ANY_STATUS = "any"
STATUSES = (
    (Invoice.Status.ISSUED.value, "Issued"),
    (Invoice.Status.HELD.value, "Held for review"),
    (Invoice.Status.DRAFT.value, "Draft"),
    (ANY_STATUS, "Any status"),
)
TYPES = (
    ("", "Invoices and credit notes"),
    (Invoice.DocumentType.INVOICE.value, "Invoices"),
    (Invoice.DocumentType.CREDIT_NOTE.value, "Credit notes"),
)


class InvoiceFilterForm(PageForm):
    number = forms.CharField(label="Invoice number", required=False, max_length=40)
    customer = forms.CharField(label="Customer", required=False, max_length=200)
    contract = forms.CharField(label="Contract number", required=False, max_length=40)
    period = forms.CharField(label="Period", required=False, max_length=10)
    status = forms.ChoiceField(label="Status", required=False, choices=STATUSES)
    document_type = forms.ChoiceField(label="Type", required=False, choices=TYPES)

    def clean_customer(self) -> list[int] | None:
        text = self.cleaned_data.get("customer", "").strip()
        return customer_ids(text) if text else None

    def clean_period(self) -> BillingPeriod | None:
        text = self.cleaned_data.get("period", "").strip()
        if not text:
            return None
        try:
            return parse_period(text)
        except InvalidInput:
            raise forms.ValidationError(
                f"{text!r} is not a period. Write a month (2026-11), a quarter (2026-Q4) or a "
                "year (2026)."
            ) from None


@page()
def invoice_list(request: HttpRequest) -> HttpResponse:
    form = InvoiceFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_bound:
        form.is_valid()
        filters = form.cleaned_data
    rows = paginate(request, invoices_matching(filters))
    context = {"form": form, "page": rows}
    if table_only(request):
        context["partial"] = True
        return render(request, "web/invoices/_table.html", context)
    return render(request, "web/invoices/list.html", context)


def invoices_matching(filters: dict[str, Any]) -> QuerySet[Invoice]:
    """Invoices matching ``filters``, newest first; issued ones unless a status is given.

    The number matches in full (as printed, or in capitals), so that the number index finds it.
    """
    status = filters.get("status") or Invoice.Status.ISSUED.value
    invoices = Invoice.objects.select_related("contract__party", "bill_to", "credited_invoice")
    if status != ANY_STATUS:
        invoices = invoices.filter(status=status)
    if filters.get("document_type"):
        invoices = invoices.filter(document_type=filters["document_type"])
    if filters.get("number"):
        number = filters["number"].strip()
        invoices = invoices.filter(number__in={number, number.upper()})
    if filters.get("customer") is not None:
        invoices = invoices.filter(contract__party_id__in=filters["customer"])
    if filters.get("contract"):
        invoices = invoices.filter(contract__number=filters["contract"].strip())
    period = filters.get("period")
    if period is not None:
        invoices = invoices.filter(period_start__gte=period.start, period_start__lt=period.end)
    return invoices.order_by("-pk")
