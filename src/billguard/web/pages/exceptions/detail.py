"""One held draft: its findings side by side with the terms, its lines, and what to do next."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render

from billguard.billing.assignments import exception_assign
from billguard.billing.exceptions import exception_resolve
from billguard.billing.models import ExceptionAssignment, Invoice
from billguard.checks.models import StoredFinding
from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.controls.override import exception_override_request
from billguard.domain.errors import BillguardError
from billguard.registry.models import Document
from billguard.web import links
from billguard.web.access import page
from billguard.web.forms import add_service_error
from billguard.web.pages.exceptions.forms import AssignForm, OverrideForm, ResolveForm

# The evidence keys that name a document as "<family> rev <revision>".
DOCUMENT_EVIDENCE = ("sow_document", "amendment_document")


@page()
def exception_detail(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = _invoice(invoice_id)
    if invoice.status != Invoice.Status.HELD:
        messages.info(request, f"Invoice {invoice} is no longer held; this is its trace.")
        return redirect(links.invoice_url(invoice.pk))
    return _render(request, invoice)


@page("exception_resolve")
def exception_resolve_view(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = _held_or_redirect(request, invoice_id)
    if isinstance(invoice, HttpResponseRedirect):
        return invoice
    form = ResolveForm(request.POST)
    if form.is_valid():
        try:
            resolution = exception_resolve(
                invoice_id=invoice.pk, note=form.cleaned_data["note"], by=_acting_user(request)
            )
        except BillguardError as error:
            add_service_error(form, error, {"--note": "note"})
        else:
            if resolution.issued:
                messages.success(
                    request, f"The fix is in: invoice {resolution.invoice.number} was issued."
                )
                return redirect(links.invoice_url(resolution.invoice.pk))
            messages.warning(
                request,
                "The draft was checked again and is still held by "
                f"{', '.join(resolution.blocking_codes)}. Fix these at the source and re-check.",
            )
            return redirect(links.exception_url(resolution.invoice.pk))
    return _render(request, invoice, resolve_form=form)


@page("exception_override")
def exception_override_view(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = _held_or_redirect(request, invoice_id)
    if isinstance(invoice, HttpResponseRedirect):
        return invoice
    form = OverrideForm(request.POST)
    if form.is_valid():
        try:
            change = exception_override_request(
                invoice_id=invoice.pk, by=_acting_user(request), reason=form.cleaned_data["reason"]
            )
        except BillguardError as error:
            add_service_error(form, error, {"changes": "reason"})
        else:
            if change.status == ChangeRequest.Status.APPLIED:
                number = change.result.get("number", "") if isinstance(change.result, dict) else ""
                messages.success(
                    request,
                    f"Change request {change.pk} overrode the findings at once (observe mode): "
                    f"invoice {number} was issued.",
                )
                return redirect(links.invoice_url(invoice.pk))
            messages.success(
                request,
                f"Change request {change.pk} asks to override this held invoice. A finance "
                "approver other than you must approve it.",
            )
            return redirect(links.exception_url(invoice.pk))
    return _render(request, invoice, override_form=form)


@page("exception_resolve")
def exception_assign_view(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = _held_or_redirect(request, invoice_id)
    if isinstance(invoice, HttpResponseRedirect):
        return invoice
    form = AssignForm(request.POST)
    if form.is_valid():
        name = form.cleaned_data["assignee"]
        assignee = User.objects.filter(username=name).first() if name else None
        try:
            exception_assign(
                invoice_id=invoice.pk,
                assignee=assignee,
                by=_acting_user(request),
                note=form.cleaned_data["note"],
            )
        except BillguardError as error:
            add_service_error(form, error)
        else:
            if assignee is None:
                messages.success(request, "The exception is assigned to nobody now.")
            else:
                messages.success(request, f"The exception is assigned to {name}.")
            return redirect(links.exception_url(invoice.pk))
    return _render(request, invoice, assign_form=form)


def _acting_user(request: HttpRequest) -> User:
    """The signed-in user; the page decorator has turned every other visitor away."""
    return cast(User, request.user)


def _invoice(invoice_id: int) -> Invoice:
    queryset = Invoice.objects.select_related(
        "contract__party",
        "bill_to",
        "billing_run",
        "contract_version__amendment__document",
        "contract_version__sow_document",
        "terms_document",
    )
    return get_object_or_404(queryset, pk=invoice_id)


def _held_or_redirect(request: HttpRequest, invoice_id: int) -> Invoice | HttpResponseRedirect:
    invoice = _invoice(invoice_id)
    if invoice.status != Invoice.Status.HELD:
        messages.error(request, f"Invoice {invoice} is {invoice.status} and no longer held.")
        return redirect(links.invoice_url(invoice.pk))
    return invoice


def _render(
    request: HttpRequest,
    invoice: Invoice,
    *,
    resolve_form: forms.Form | None = None,
    override_form: forms.Form | None = None,
    assign_form: forms.Form | None = None,
) -> HttpResponse:
    findings = list(invoice.findings.order_by("severity", "code", "pk"))
    documents = _evidence_documents(findings)
    rows = [_finding_row(f, documents) for f in findings]
    blocking = [r for r in rows if r["blocks"]]
    assignment = (
        ExceptionAssignment.objects.select_related("assignee")
        .filter(draft_key=invoice.draft_key)
        .first()
    )
    initial_assignee = assignment.assignee.get_username() if assignment else ""
    overrides = list(
        ChangeRequest.objects.select_related("requested_by")
        .filter(target=Target.INVOICE_OVERRIDE, target_id=str(invoice.pk))
        .order_by("-requested_at")
    )
    context: dict[str, Any] = {
        "invoice": invoice,
        "findings": rows,
        "blocking": blocking,
        "at_stake": _at_stake(blocking),
        "lines": list(invoice.lines.all()),
        "assignment": assignment,
        "overrides": overrides,
        "pending_override": next(
            (c for c in overrides if c.status == ChangeRequest.Status.PENDING), None
        ),
        "resolve_form": resolve_form or ResolveForm(),
        "override_form": override_form or OverrideForm(),
        "assign_form": assign_form or AssignForm(initial={"assignee": initial_assignee}),
    }
    status = 400 if any(f is not None for f in (resolve_form, override_form, assign_form)) else 200
    return render(request, "web/exceptions/detail.html", context, status=status)


def _finding_row(finding: StoredFinding, documents: dict[tuple[str, int], Document]) -> dict:
    """Return a finding with links from its evidence to the contract page's anchors."""
    evidence = dict(finding.evidence or {})
    contract = evidence.get("contract", "")
    evidence_links = []
    if contract:
        base = links.contract_url(contract)
        evidence_links.append({"label": f"Contract {contract}", "href": base})
        if evidence.get("contract_version"):
            version = evidence["contract_version"]
            evidence_links.append(
                {"label": f"Version {version}", "href": f"{base}#version-{version}"}
            )
        if evidence.get("amendment"):
            number = evidence["amendment"]
            evidence_links.append(
                {"label": f"Amendment {number}", "href": f"{base}#amendment-{number}"}
            )
        for key in DOCUMENT_EVIDENCE:
            document = documents.get(_document_key(evidence.get(key, "")) or ("", 0))
            if document is not None:
                evidence_links.append(
                    {"label": str(document), "href": f"{base}#document-{document.pk}"}
                )
    return {
        "finding": finding,
        "blocks": finding.severity == StoredFinding.Severity.BLOCK and not finding.observed,
        "links": evidence_links,
        "hashes": [
            (name, evidence[name])
            for name in ("sow_sha256", "amendment_sha256")
            if name in evidence
        ],
    }


def _evidence_documents(findings: list[StoredFinding]) -> dict[tuple[str, int], Document]:
    """Load the documents that the findings' evidence names, in one query."""
    keys = {
        key
        for f in findings
        for name in DOCUMENT_EVIDENCE
        if (key := _document_key((f.evidence or {}).get(name, ""))) is not None
    }
    if not keys:
        return {}
    condition = Q()
    for family, revision in keys:
        condition |= Q(family=family, revision=revision)
    return {(d.family, d.revision): d for d in Document.objects.filter(condition)}


def _document_key(text: str) -> tuple[str, int] | None:
    family, separator, revision = str(text).rpartition(" rev ")
    if not separator or not revision.isdigit():
        return None
    return family, int(revision)


def _at_stake(blocking: list[dict]) -> list[tuple[str, Any]]:
    """Money at stake of the blocking findings, summed per currency."""
    totals: dict[str, Any] = {}
    for row in blocking:
        finding = row["finding"]
        if finding.amount_at_stake is None:
            continue
        currency = finding.currency or ""
        totals[currency] = totals.get(currency, 0) + finding.amount_at_stake
    return sorted(totals.items())
