"""The customer pages: the list of customers, and one customer with its receivables."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from billguard.billing.models import Invoice
from billguard.receivables.ageing import BUCKETS
from billguard.receivables.balances import credited_in_full, issued_invoices
from billguard.receivables.customer_figures import (
    balances_due,
    balances_of_annotated,
    customer_ageing,
    customer_invoices,
    held_drafts_count,
    with_open_amount,
)
from billguard.receivables.models import Dispute
from billguard.registry.models import BillToEntity, DuplicateCandidate, Party
from billguard.registry.tax_ids import validate_tax_id
from billguard.web.access import page
from billguard.web.forms import DatePickerField, PageForm
from billguard.web.paging import paginate

# A customer page lists at most this many contracts, held drafts and duplicate candidates;
# the contracts page lists the rest.
SECTION_LIMIT = 50


class CustomerFilters(PageForm):
    q = forms.CharField(label="Name or code", required=False, max_length=200)
    country = forms.CharField(
        label="Country", required=False, max_length=2, min_length=2, help_text="DE, FR, US"
    )

    def clean_country(self) -> str:
        country: str = self.cleaned_data["country"].strip().upper()
        if country and not country.isalpha():
            raise forms.ValidationError(
                f"{country!r} is not an ISO 3166-1 country code. Give two letters, such as DE."
            )
        return country


class AsOfForm(PageForm):
    as_of = DatePickerField(label="As of", required=False)


@page()
def customer_list(request: HttpRequest) -> HttpResponse:
    filters = CustomerFilters(request.GET or None)
    customers = Party.objects.filter(kind=Party.Kind.CUSTOMER, merged_into__isnull=True).order_by(
        "code"
    )
    if filters.is_bound and filters.is_valid():
        text = filters.cleaned_data["q"].strip()
        if text:
            customers = customers.filter(Q(code__icontains=text) | Q(name__icontains=text))
        if filters.cleaned_data["country"]:
            customers = customers.filter(country=filters.cleaned_data["country"])
    elif filters.is_bound:
        customers = customers.none()
    rows = paginate(request, customers)

    today = timezone.localdate()
    ids = [customer.pk for customer in rows.rows]
    held_counts = held_drafts_count(ids)
    due = balances_due(ids, today)
    listed = [
        {
            "party": customer,
            "held": held_counts.get(customer.pk, 0),
            "due": due.get(customer.pk, []),
        }
        for customer in rows.rows
    ]
    template = (
        "web/customers/_table.html"
        if request.headers.get("HX-Request")
        else "web/customers/list.html"
    )
    context = {"filters": filters, "page": rows, "customers": listed, "today": today}
    return render(request, template, context)


@page()
def customer_detail(request: HttpRequest, code: str) -> HttpResponse:
    party = Party.objects.filter(code=code, kind=Party.Kind.CUSTOMER).first()
    if party is None:
        raise Http404(f"No customer has the code {code!r}.")

    as_of_form = AsOfForm(request.GET or None)
    as_of = timezone.localdate()
    if as_of_form.is_bound and as_of_form.is_valid() and as_of_form.cleaned_data["as_of"]:
        as_of = as_of_form.cleaned_data["as_of"]

    bill_tos = list(party.bill_tos.order_by("code"))
    tax_ids = _tax_ids(party, bill_tos)
    contracts = party.contracts.order_by("number")
    contract_count = contracts.count()
    own_invoices = customer_invoices([party.pk])
    held = (
        Invoice.objects.filter(own_invoices.filter, status=Invoice.Status.HELD)
        .select_related("contract")
        .prefetch_related("findings")
        .order_by("created_at", "pk")
    )
    duplicates = (
        DuplicateCandidate.objects.filter(
            Q(party=party) | Q(other_party=party), status=DuplicateCandidate.Status.OPEN
        )
        .select_related("party", "other_party")
        .order_by("-match_probability", "pk")
    )

    invoices = with_open_amount(
        issued_invoices().filter(own_invoices.filter, issue_date__lte=as_of), as_of
    ).order_by("-issue_date", "-pk")
    invoice_page = paginate(request, invoices)
    balances = balances_of_annotated(invoice_page.rows, as_of)
    # A fully credited invoice has nothing left to dispute, whatever date the page shows, and
    # the dispute service rejects it.
    credited = credited_in_full(invoice_page.rows)
    open_disputes = set(
        Dispute.objects.filter(
            invoice_id__in=[invoice.pk for invoice in invoice_page.rows],
            status=Dispute.Status.OPEN,
        ).values_list("invoice_id", flat=True)
    )

    context = {
        "party": party,
        "as_of": as_of,
        "as_of_form": as_of_form,
        "bill_tos": bill_tos,
        "tax_ids": tax_ids,
        "contracts": list(contracts[:SECTION_LIMIT]),
        "contract_count": contract_count,
        "held": list(held[:SECTION_LIMIT]),
        "duplicates": [
            {
                "other": pair.other_party if pair.party_id == party.pk else pair.party,
                "candidate": pair,
            }
            for pair in duplicates[:SECTION_LIMIT]
        ],
        "buckets": BUCKETS,
        "ageing": [
            {"row": row, "amounts": [row.buckets[bucket] for bucket in BUCKETS]}
            for row in customer_ageing(party, as_of, own_invoices)
        ],
        "page": invoice_page,
        "balances": [
            {
                "balance": balance,
                "disputed": balance.invoice.pk in open_disputes,
                "credited": balance.invoice.pk in credited,
            }
            for balance in balances
        ],
        "section_limit": SECTION_LIMIT,
    }
    return render(request, "web/customers/detail.html", context)


def _tax_ids(party: Party, bill_tos: list[BillToEntity]) -> list[dict[str, object]]:
    """List the tax IDs of the party and its bill-to entities, each with its validation result."""
    rows: list[dict[str, object]] = []
    entries: list[tuple[str, str, str, str, bool | None, str]] = [
        ("Customer", party.name, party.tax_id, party.country, None, "")
    ]
    entries += [
        (f"Bill-to {bt.code}", bt.name, bt.tax_id, bt.country, bt.tax_id_valid, bt.tax_id_error)
        for bt in bill_tos
    ]
    for holder, name, value, country, stored_valid, stored_error in entries:
        if not value:
            rows.append({"holder": holder, "name": name, "value": "", "valid": None, "error": ""})
            continue
        # A bill-to entity keeps the result stored at its creation. Other numbers are checked now.
        if stored_valid is None:
            check = validate_tax_id(value, country)
            valid, error = check.valid, check.error
        else:
            valid, error = stored_valid, stored_error
        rows.append(
            {"holder": holder, "name": name, "value": value, "valid": valid, "error": error}
        )
    return rows


urlpatterns = [
    path("customers/", customer_list, name="customers"),
    path("customers/<str:code>/", customer_detail, name="customer"),
]
