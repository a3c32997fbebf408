"""The dispute pages: the list, recording a dispute on an issued invoice, and deciding one.

Every write goes through ``billguard.receivables.disputes``, which checks the roles again:
recording needs ``dispute_open``; resolving needs ``dispute_decide`` and ``invoice_credit``;
rejecting needs ``dispute_decide``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone

from billguard.billing.credit import invoice_by_number
from billguard.billing.models import Invoice
from billguard.checks.engine import registered_checks
from billguard.domain.currencies import minor_units
from billguard.domain.errors import BillguardError
from billguard.receivables.customer_figures import customer_invoices_filter
from billguard.receivables.disputes import (
    MAX_NOTE_LENGTH,
    dispute_open,
    dispute_reject,
    dispute_resolve,
    invoice_check_codes,
    reissue_of,
)
from billguard.receivables.models import Dispute
from billguard.registry.models import Party
from billguard.web.access import page, require
from billguard.web.forms import DatePickerField, PageForm, add_service_error
from billguard.web.links import dispute_url
from billguard.web.paging import paginate


def _capitalized(choices: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Return ``choices`` with each label starting with a capital, as form options read."""
    return [(value, str(label)[:1].upper() + str(label)[1:]) for value, label in choices]


# The form field of each place (command-line option or record name) a service error names.
OPEN_PLACES = {
    "--reason": "reason",
    "--amount": "amount",
    "--date": "opened_on",
    "--check": "check_code",
    "--note": "note",
    "INVOICE": "invoice_number",
    "invoice number": "invoice_number",
}
RESOLVE_PLACES = {
    "--note": "note",
    "--reissue": "outcome",
    "--line": "outcome",
    "--date": "issue_date",
    "--check": "check_code",
}
REJECT_PLACES = {"--note": "note"}


class DisputeFilters(PageForm):
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any status"), *_capitalized(Dispute.Status.choices)],
    )
    reason = forms.ChoiceField(
        label="Reason",
        required=False,
        choices=[("", "Any reason"), *_capitalized(Dispute.Reason.choices)],
    )
    customer = forms.CharField(label="Customer code", required=False, max_length=40)

    def clean_customer(self) -> Party | None:
        code = self.cleaned_data["customer"].strip()
        if not code:
            return None
        customers = Party.objects.filter(kind=Party.Kind.CUSTOMER)
        # The exact code uses the unique index; a code typed in other capitals is looked up after.
        party = customers.filter(code=code).first() or customers.filter(code__iexact=code).first()
        if party is None:
            raise forms.ValidationError(
                f"No customer has the code {code!r}. Give a code from the customer list."
            )
        return party


class DisputeOpenForm(PageForm):
    invoice_number = forms.CharField(label="Invoice number", max_length=40)
    reason = forms.ChoiceField(label="Reason", choices=[("", "Choose a reason")])
    amount = forms.DecimalField(label="Disputed amount", max_digits=18, decimal_places=3)
    opened_on = DatePickerField(label="Date the customer raised it")
    check_code = forms.ChoiceField(
        label="Check that would have caught it", required=False, choices=[]
    )
    note = forms.CharField(
        label="What the customer reports as wrong",
        required=False,
        max_length=MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        reason = self.fields["reason"]
        assert isinstance(reason, forms.ChoiceField)
        reason.choices = [("", "Choose a reason"), *_capitalized(Dispute.Reason.choices)]
        _set_check_choices(self)


class DisputeResolveForm(PageForm):
    outcome = forms.ChoiceField(
        label="Resolution",
        choices=[
            ("credit_and_reissue", "Credit note and reissue"),
            ("credit_only", "Credit note alone"),
        ],
        initial="credit_and_reissue",
        widget=forms.RadioSelect,
    )
    issue_date = DatePickerField(label="Issue date")
    note = forms.CharField(
        label="Why it is resolved this way",
        max_length=MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    check_code = forms.ChoiceField(
        label="Check that would have caught it", required=False, choices=[]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_check_choices(self)


def _set_check_choices(form: forms.Form) -> None:
    """Offer the registered invoice checks, read when the form is built, or none of them."""
    field = form.fields["check_code"]
    assert isinstance(field, forms.ChoiceField)
    field.choices = [
        ("", "None: no check would have caught it"),
        *((code, code) for code in invoice_check_codes()),
    ]


class DisputeRejectForm(PageForm):
    note = forms.CharField(
        label="Why the invoice is right",
        max_length=MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@page()
def dispute_list(request: HttpRequest) -> HttpResponse:
    filters = DisputeFilters(request.GET or None)
    # The page is chosen on the dispute table alone and its rows are joined afterwards, so
    # the database never joins every dispute to its invoice only to sort and cut them.
    disputes = Dispute.objects.order_by("-opened_on", "-pk")
    if filters.is_bound and filters.is_valid():
        values = filters.cleaned_data
        if values["status"]:
            disputes = disputes.filter(status=values["status"])
        if values["reason"]:
            disputes = disputes.filter(reason=values["reason"])
        customer = values["customer"]
        if customer is not None:
            invoices = Invoice.objects.filter(customer_invoices_filter([customer.pk]))
            disputes = disputes.filter(invoice_id__in=invoices.values("pk"))
    elif filters.is_bound:
        disputes = disputes.none()
    rows = paginate(request, disputes.values_list("pk", flat=True))
    loaded = Dispute.objects.select_related(
        "invoice__contract__party", "invoice__bill_to__party", "credit_note", "reissued_invoice"
    ).in_bulk(rows.rows)
    page_disputes = [loaded[pk] for pk in rows.rows]
    reissues = _reissues(page_disputes)
    listed = [
        {
            "dispute": dispute,
            "customer": _customer(dispute.invoice),
            "reissue": reissues.get(dispute.pk),
        }
        for dispute in page_disputes
    ]
    template = (
        "web/disputes/_table.html"
        if request.headers.get("HX-Request")
        else "web/disputes/list.html"
    )
    return render(request, template, {"filters": filters, "page": rows, "disputes": listed})


@page("dispute_open")
def dispute_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = DisputeOpenForm(request.POST)
        if form.is_valid():
            values = form.cleaned_data
            try:
                invoice = invoice_by_number(values["invoice_number"].strip())
                dispute = dispute_open(
                    invoice=invoice,
                    opened_on=values["opened_on"],
                    reason=values["reason"],
                    amount=values["amount"],
                    note=values["note"],
                    check_code=values["check_code"],
                    by=request.user,  # type: ignore[arg-type]
                )
            except BillguardError as error:
                add_service_error(form, error, OPEN_PLACES)
            else:
                messages.success(
                    request, f"Dispute {dispute.pk} recorded on invoice {invoice.number}."
                )
                return redirect(dispute_url(dispute.pk))
    else:
        form = DisputeOpenForm(initial=_open_initial(request))
    return render(request, "web/disputes/new.html", {"form": form})


@page()
def dispute_detail(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = (
        Dispute.objects.select_related(
            "invoice__contract__party",
            "invoice__bill_to__party",
            "credit_note",
            "reissued_invoice",
        )
        .filter(pk=dispute_id)
        .first()
    )
    if dispute is None:
        raise Http404(f"Dispute {dispute_id} was not found.")

    today = timezone.localdate()
    resolve_form = DisputeResolveForm(
        prefix="resolve", initial={"issue_date": today, "check_code": dispute.check_code}
    )
    reject_form = DisputeRejectForm(prefix="reject")
    if request.method == "POST":
        require(request.user, "dispute_decide")  # type: ignore[arg-type]
        if request.POST.get("decision") == "resolve":
            resolve_form = DisputeResolveForm(request.POST, prefix="resolve")
            if _resolve(request, dispute, resolve_form):
                return redirect(dispute_url(dispute.pk))
        elif request.POST.get("decision") == "reject":
            reject_form = DisputeRejectForm(request.POST, prefix="reject")
            if _reject(request, dispute, reject_form):
                return redirect(dispute_url(dispute.pk))
        else:
            messages.error(request, "Choose to resolve or to reject the dispute.")

    context = {
        "dispute": dispute,
        "customer": _customer(dispute.invoice),
        "reissue": reissue_of(dispute),
        "check": _check(dispute.check_code),
        "resolve_form": resolve_form,
        "reject_form": reject_form,
    }
    return render(request, "web/disputes/detail.html", context)


def _resolve(request: HttpRequest, dispute: Dispute, form: DisputeResolveForm) -> bool:
    if not form.is_valid():
        return False
    values = form.cleaned_data
    try:
        resolution = dispute_resolve(
            dispute=dispute,
            reissue=values["outcome"] == "credit_and_reissue",
            note=values["note"],
            issue_date=values["issue_date"],
            check_code=values["check_code"],
            by=request.user,  # type: ignore[arg-type]
        )
    except BillguardError as error:
        add_service_error(form, error, RESOLVE_PLACES)
        return False
    text = (
        f"Dispute {dispute.pk} resolved: credit note {resolution.credit_note.number} "
        f"for invoice {dispute.invoice.number}."
    )
    reissued = resolution.reissued
    if reissued is not None and reissued.number:
        text += f" Reissued as invoice {reissued.number}."
    elif reissued is not None:
        text += (
            f" The reissue is held as draft {reissued.pk} by "
            f"{', '.join(resolution.blocking_codes)}; fix its source in the exception queue."
        )
    messages.success(request, text)
    return True


def _reject(request: HttpRequest, dispute: Dispute, form: DisputeRejectForm) -> bool:
    if not form.is_valid():
        return False
    try:
        dispute_reject(dispute=dispute, note=form.cleaned_data["note"], by=request.user)  # type: ignore[arg-type]
    except BillguardError as error:
        add_service_error(form, error, REJECT_PLACES)
        return False
    messages.success(
        request,
        f"Dispute {dispute.pk} rejected: invoice {dispute.invoice.number} remains valid as issued.",
    )
    return True


def _open_initial(request: HttpRequest) -> dict[str, object]:
    initial: dict[str, object] = {"opened_on": timezone.localdate()}
    raw = request.GET.get("invoice", "")
    if raw.isdigit():
        invoice = Invoice.objects.filter(pk=int(raw)).only("number", "payable", "currency").first()
        if invoice is not None and invoice.number:
            initial["invoice_number"] = invoice.number
            # The whole payable amount, with the currency's ISO 4217 decimals.
            decimals = minor_units(invoice.currency)
            initial["amount"] = invoice.payable.quantize(Decimal(1).scaleb(-decimals))
    return initial


def _customer(invoice: Invoice) -> Any:
    if invoice.contract is not None:
        return invoice.contract.party
    if invoice.bill_to is not None:
        return invoice.bill_to.party
    return None


def _reissues(disputes: list[Dispute]) -> dict[int, Invoice]:
    """Find the reissue of each dispute resolved by reissue, as ``reissue_of`` does, in one query.

    A held reissue drafted again from the exception queue is no longer on the dispute, so it
    is found through the invoice it replaces, the latest first.
    """
    found = {
        dispute.pk: dispute.reissued_invoice
        for dispute in disputes
        if dispute.reissued_invoice is not None
    }
    missing = {
        dispute.invoice_id: dispute.pk
        for dispute in disputes
        if dispute.reissued_invoice is None
        and dispute.resolution == Dispute.Resolution.CREDIT_AND_REISSUE
    }
    if missing:
        for invoice in Invoice.objects.filter(replaces_id__in=list(missing)).order_by("pk"):
            assert invoice.replaces_id is not None
            found[missing[invoice.replaces_id]] = invoice
    return found


def _check(code: str) -> dict[str, str] | None:
    for registered in registered_checks():
        if registered.code == code:
            return {"code": code, "family": registered.family}
    return None


urlpatterns = [
    path("disputes/", dispute_list, name="disputes"),
    path("disputes/new/", dispute_new, name="dispute-new"),
    path("disputes/<int:dispute_id>/", dispute_detail, name="dispute"),
]
