"""The contract list (``/contracts/``) and the contract page (``/contracts/<number>/``).

The contract page shows the timeline of versions and amendments and the terms diff of any
two versions. It lists the documents with their revisions and hashes, and the invoices
issued under each version. Its form requests a price or discount change through the change
request service.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header

from billguard.controls.approval_policy import requirements_describe
from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Mode, Target
from billguard.controls.requests import change_request_create
from billguard.domain.errors import BillguardError, InvalidInput
from billguard.domain.periods import local_date
from billguard.registry.models import Amendment, Contract, ContractVersion, Document, Party
from billguard.registry.services.documents import document_read
from billguard.web import links
from billguard.web.access import page
from billguard.web.forms import add_service_error
from billguard.web.pages.contracts.forms import ContractFilters, PriceChangeForm, VersionPair
from billguard.web.pages.contracts.prices import line_prices
from billguard.web.pages.contracts.versions import (
    INVOICES_PER_VERSION,
    contract_document_ids,
    contract_documents,
    contract_versions,
    invoices_by_version,
    version_diff,
)
from billguard.web.paging import paginate

logger = logging.getLogger(__name__)

# The maximum number of parties a customer filter matches. A text that matches more lists the
# contracts of the first ones by id.
MAX_PARTIES = 500


@page()
def contracts(request: HttpRequest) -> HttpResponse:
    """List the contracts by number, with filters on number, customer, status and type."""
    filters = ContractFilters(request.GET or None)
    result = paginate(request, _contract_rows(filters))
    latest = _latest_versions([row.pk for row in result.rows])
    for row in result.rows:
        row.latest = latest.get(row.pk)
    template = "web/contracts/_table.html" if request.headers.get("HX-Request") else None
    return render(
        request, template or "web/contracts/list.html", {"filters": filters, "page": result}
    )


@page()
def contract(request: HttpRequest, number: str) -> HttpResponse:
    """Show one contract; its change form posts to :func:`contract_request_change`."""
    found = _contract(number)
    return _contract_page(request, found, change_form=None)


@page("change_request")
def contract_request_change(request: HttpRequest, number: str) -> HttpResponse:
    """Request a new unit price or discount for a line of the contract's latest version."""
    found = _contract(number)
    if request.method != "POST":
        return redirect(links.contract_url(found.number) + "#request-change")
    user = request.user
    assert isinstance(user, User)
    latest = found.versions.prefetch_related("lines", "discounts").order_by("-version_number")
    version = latest.first()
    if version is None:
        raise Http404(f"Contract {found.number} has no version to change.")
    form = PriceChangeForm(request.POST, version=version)
    if form.is_valid():
        try:
            change = change_request_create(
                by=user,
                target=Target.CONTRACT,
                target_id=found.pk,
                changes=form.changes(),
                reason=form.cleaned_data["reason"],
                effective_from=form.cleaned_data["effective_from"],
                channel=ChangeRequest.Channel.WEB,
            )
        except BillguardError as error:
            logger.info("change request on contract %s rejected: %s", found.number, error)
            add_service_error(form, error, _service_places(error))
        else:
            messages.success(request, _created_message(change))
            return redirect(links.change_request_url(change.pk))
    return _contract_page(request, found, change_form=form)


@page()
def contract_document(request: HttpRequest, number: str, document_id: int) -> HttpResponse:
    """Download a revision of a document that the contract cites, checked against its hash."""
    found = _contract(number)
    if document_id not in contract_document_ids(found):
        raise Http404(f"Contract {found.number} cites no document {document_id}.")
    document = Document.objects.get(pk=document_id)
    try:
        content = document_read(document)
    except BillguardError as error:
        logger.error("document %s of contract %s unreadable: %s", document.pk, found.number, error)
        messages.error(request, f"Document {document.pk} cannot be downloaded: {error}")
        return redirect(links.contract_url(found.number) + f"#document-{document.pk}")
    response = HttpResponse(content, content_type=document.content_type or "application/pdf")
    name = document.file_name or f"document-{document.pk}"
    response["Content-Disposition"] = content_disposition_header(True, name) or ""
    return response


def _contract_page(
    request: HttpRequest, found: Contract, *, change_form: PriceChangeForm | None
) -> HttpResponse:
    versions = contract_versions(found)
    amendments = list(
        Amendment.objects.filter(contract=found)
        .select_related("document")
        .order_by("effective_from", "number")
    )
    by_number = {v.version_number: v for v in versions}
    numbers = sorted(by_number)

    pair = VersionPair(request.GET if "a" in request.GET else None, numbers=numbers)
    diff = None
    if pair.is_bound and pair.is_valid():
        diff = version_diff(by_number[pair.cleaned_data["a"]], by_number[pair.cleaned_data["b"]])
    elif not pair.is_bound and len(numbers) >= 2:
        diff = version_diff(by_number[numbers[-2]], by_number[numbers[-1]])
        pair = VersionPair(initial={"a": numbers[-2], "b": numbers[-1]}, numbers=numbers)

    latest = versions[-1] if versions else None
    if change_form is None and latest is not None:
        change_form = PriceChangeForm(version=latest)
    invoices = invoices_by_version(found)
    # The lines shown are the latest version's, so their prices are those of today, or of the
    # day that version takes effect when it is still to come. Today is the date in the
    # latest version's time zone.
    today = _contract_today(latest)
    price_day = max(today, latest.effective_from) if latest is not None else today
    prices = line_prices(latest, price_day) if latest is not None else {}
    latest_lines = list(latest.lines.all()) if latest is not None else []
    context: dict[str, Any] = {
        "contract": found,
        "versions": versions,
        "latest": latest,
        "timeline": _timeline(versions, amendments),
        "amendments": amendments,
        "pair": pair,
        "diff": diff,
        "documents": contract_documents(versions, amendments),
        "version_invoices": [(v, invoices.get(v.pk)) for v in reversed(versions)],
        "unversioned_invoices": invoices.get(None),
        "invoices_per_version": INVOICES_PER_VERSION,
        "change_form": change_form,
        "price_day": price_day,
        "price_day_is_today": price_day == today,
        "line_prices": list(prices.values()),
        "latest_lines": [(line, prices.get(line.line_code)) for line in latest_lines],
        "open_requests": list(
            ChangeRequest.objects.filter(
                target=Target.CONTRACT,
                target_id=str(found.pk),
                status__in=(ChangeRequest.Status.PENDING, ChangeRequest.Status.APPROVED),
            )
            .select_related("requested_by")
            .order_by("requested_at", "pk")
        ),
    }
    return render(request, "web/contracts/detail.html", context)


def _contract_rows(filters: ContractFilters) -> QuerySet[Contract]:
    # The party is prefetched for the page's rows only: a join would be evaluated for every
    # row that a deep page skips, and so would a subquery for the latest version.
    rows = Contract.objects.prefetch_related("party").order_by("number")
    if not filters.is_valid():
        return rows
    data = filters.cleaned_data
    if data["number"].strip():
        rows = rows.filter(number__startswith=data["number"].strip())
    customer = data["customer"].strip()
    if customer:
        # The parties first: a name match scans the party table, not every contract.
        parties = Party.objects.filter(Q(code=customer) | Q(name__icontains=customer))
        rows = rows.filter(party_id__in=list(parties.values_list("pk", flat=True)[:MAX_PARTIES]))
    if data["status"]:
        rows = rows.filter(status=data["status"])
    if data["contract_type"]:
        rows = rows.filter(contract_type=data["contract_type"])
    return rows


def _latest_versions(contract_ids: list[int]) -> dict[int, ContractVersion]:
    """Return the latest version of each contract, by contract id, in one query."""
    versions = (
        ContractVersion.objects.filter(contract_id__in=contract_ids)
        .only("contract_id", "version_number", "effective_from", "currency")
        .order_by("contract_id", "-version_number")
    )
    latest: dict[int, ContractVersion] = {}
    for version in versions:
        latest.setdefault(version.contract_id, version)
    return latest


def _contract(number: str) -> Contract:
    found = Contract.objects.select_related("party", "seller_entity").filter(number=number).first()
    if found is None:
        raise Http404(f"Contract {number} does not exist.")
    return found


def _timeline(versions: list[ContractVersion], amendments: list[Amendment]) -> list[dict[str, Any]]:
    """Return the versions and the amendments that created no version yet, newest first."""
    entries: list[dict[str, Any]] = []
    for version in versions:
        request = version.change_request
        approvers = []
        if request is not None:
            approvers = [
                a.approver.get_username()
                for a in request.approvals.all()
                if a.decision == a.Decision.APPROVE
            ]
        amendment = version.amendment
        entries.append(
            {
                "kind": "version",
                "date": version.effective_from,
                "version": version,
                "amendment": amendment,
                "request": request,
                "approvers": approvers,
            }
        )
    for amendment in amendments:
        if amendment.status != Amendment.Status.APPROVED:
            entries.append(
                {"kind": "amendment", "date": amendment.effective_from, "amendment": amendment}
            )
    entries.sort(key=lambda e: (e["date"], e["kind"] == "version"), reverse=True)
    return entries


def _service_places(error: BillguardError) -> dict[str, str]:
    """Map a service's place (``changes.lines.L1.unit_price``) to the field of the form."""
    place = error.place or ""
    if "unit_price" in place:
        return {place: "unit_price"}
    if "discount" in place:
        return {place: "discount_percent"}
    if place.endswith("effective_from"):
        return {place: "effective_from"}
    if place == "changes.lines" or place.startswith("changes.lines."):
        return {place: "line"}
    return {}


def _created_message(change: ChangeRequest) -> str:
    if change.status == ChangeRequest.Status.APPLIED:
        return f"Change request {change.pk} is applied: the policy observes this change only."
    if change.mode == Mode.OBSERVE:
        return f"Change request {change.pk} is approved and applies on {change.effective_from}."
    needed = requirements_describe(change.required)
    return f"Change request {change.pk} is created. It waits for approval: {needed}."


def _contract_today(version: ContractVersion | None) -> dt.date:
    """Return today's date in ``version``'s time zone, or the server's without a version."""
    if version is None:
        return timezone.localdate()
    try:
        return local_date(timezone.now(), version.timezone)
    except InvalidInput:
        # A zone name this system does not know; the page still shows the prices.
        return timezone.localdate()
