"""The approvals inbox (``/approvals/``) and one change request (``/approvals/<id>/``).

The views only read and call the change request services with the signed-in user. The
services decide maker-checker, delegation and status, so a rejection by a service is shown
next to the form that was sent.
"""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from billguard.controls.delegations import delegations_active
from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.controls.requests import (
    change_request_approve,
    change_request_reject,
    change_request_withdraw,
)
from billguard.controls.roles import has_action, role_label
from billguard.domain.errors import BillguardError
from billguard.registry.models import BillingSchedule, BillToEntity, Contract
from billguard.web import links
from billguard.web.access import page, require
from billguard.web.forms import add_service_error
from billguard.web.pages.approvals.forms import (
    ALL_STATUSES,
    ApproveForm,
    InboxFilters,
    RejectForm,
)
from billguard.web.pages.approvals.selectors import (
    approvals_given,
    field_changes,
    outstanding_text,
    waiting_requests,
)
from billguard.web.paging import paginate

logger = logging.getLogger(__name__)

_OPEN = (ChangeRequest.Status.PENDING, ChangeRequest.Status.APPROVED)


@page()
def approvals(request: HttpRequest) -> HttpResponse:
    """List the change requests, pending by default, and those waiting for the user."""
    user = request.user
    assert isinstance(user, User)
    filters = InboxFilters(request.GET or None)
    waiting = waiting_requests(user)

    rows = _inbox(filters, waiting)
    result = paginate(request, rows)
    page_ids = [row.pk for row in result.rows]
    given = approvals_given(page_ids)
    waiting_set = set(waiting.filter(pk__in=page_ids).values_list("pk", flat=True))
    for row in result.rows:
        row.given = given.get(row.pk, 0)
        row.outstanding = outstanding_text(row)
        row.waits_for_me = row.pk in waiting_set
    context = {
        "filters": filters,
        "status": filters.status_value(),
        "page": result,
        "waiting_count": waiting.count(),
        "may_approve": _may_approve(user),
    }
    template = "web/approvals/_table.html" if request.headers.get("HX-Request") else None
    return render(request, template or "web/approvals/list.html", context)


@page()
def approval(request: HttpRequest, request_id: int) -> HttpResponse:
    """Show one change request; approve, reject or withdraw it by POST."""
    user = request.user
    assert isinstance(user, User)
    change = _change_request(request_id)
    approve_form = ApproveForm(prefix="approve")
    reject_form = RejectForm(prefix="reject")
    withdraw_form = forms.Form(prefix="withdraw")

    if request.method == "POST":
        decision = request.POST.get("decision", "")
        if decision == "approve":
            if not _may_approve(user):
                require(user, "change_approve")
            approve_form = ApproveForm(request.POST, prefix="approve")
            if approve_form.is_valid() and _decide(
                approve_form,
                lambda: change_request_approve(
                    request_id=change.pk, by=user, reason=approve_form.cleaned_data["reason"]
                ),
            ):
                messages.success(request, _approved_message(change.pk))
                return redirect(links.change_request_url(change.pk))
        elif decision == "reject":
            require(user, "change_approve")
            reject_form = RejectForm(request.POST, prefix="reject")
            if reject_form.is_valid() and _decide(
                reject_form,
                lambda: change_request_reject(
                    request_id=change.pk, by=user, reason=reject_form.cleaned_data["reason"]
                ),
            ):
                messages.success(request, f"You rejected change request {change.pk}.")
                return redirect(links.change_request_url(change.pk))
        elif decision == "withdraw":
            withdraw_form = forms.Form(request.POST, prefix="withdraw")
            if _decide(
                withdraw_form, lambda: change_request_withdraw(request_id=change.pk, by=user)
            ):
                messages.success(request, f"You withdrew change request {change.pk}.")
                return redirect(links.change_request_url(change.pk))
        else:
            messages.error(
                request,
                f"The form sent no known decision ({decision!r}). Use the Approve, Reject or "
                "Withdraw request button.",
            )
        change = _change_request(request_id)

    context = {
        "change": change,
        "rows": field_changes(change.before, change.changes),
        "requirements": _requirements(change),
        "decisions": sorted(change.approvals.all(), key=lambda a: (a.decided_at, a.pk)),
        "target_url": _target_url(change),
        "is_open": change.status in _OPEN,
        "is_pending": change.status == ChangeRequest.Status.PENDING,
        "is_own": change.requested_by_id == user.pk,
        "may_approve": _may_approve(user),
        "approve_form": approve_form,
        "reject_form": reject_form,
        "withdraw_form": withdraw_form,
        "refused": bool(approve_form.errors or reject_form.errors or withdraw_form.errors),
        "outstanding": outstanding_text(change),
        "versions": list(change.created_versions.all()),
    }
    return render(request, "web/approvals/detail.html", context)


def _inbox(filters: InboxFilters, waiting: QuerySet[ChangeRequest]) -> QuerySet[ChangeRequest]:
    # Filtering the waiting requests themselves, rather than by a subquery of their ids,
    # keeps PostgreSQL from running that subquery once per request.
    only_waiting = filters.is_valid() and filters.cleaned_data["waiting"]
    rows = waiting if only_waiting else ChangeRequest.objects.all()
    # The changes and their before values are shown on the request's page, not in the list.
    rows = rows.select_related("requested_by").defer(
        "changes", "before", "result", "reason", "decision_reason"
    )
    status = filters.status_value()
    if status != ALL_STATUSES:
        rows = rows.filter(status=status)
    if filters.is_valid():
        data = filters.cleaned_data
        if data["target"]:
            rows = rows.filter(target=data["target"])
        if data["requester"].strip():
            rows = rows.filter(requested_by__username=data["requester"].strip())
    # The pending queue reads oldest first, as it is worked; history reads newest first.
    if status == ChangeRequest.Status.PENDING:
        return rows.order_by("requested_at", "pk")
    return rows.order_by("-requested_at", "-pk")


def _change_request(request_id: int) -> ChangeRequest:
    change = (
        ChangeRequest.objects.select_related(
            "requested_by", "reviewed_by", "amendment__document", "amendment__contract"
        )
        .prefetch_related("approvals__approver", "approvals__on_behalf_of", "created_versions")
        .filter(pk=request_id)
        .first()
    )
    if change is None:
        raise Http404(f"Change request {request_id} does not exist.")
    return change


def _decide(form: forms.Form, action: Any) -> bool:
    """Call the service ``action``; put its refusal on ``form`` and return whether it passed."""
    try:
        action()
    except BillguardError as error:
        logger.info("decision on change request rejected by the service: %s", error)
        add_service_error(form, error)
        return False
    return True


def _approved_message(request_id: int) -> str:
    change = ChangeRequest.objects.get(pk=request_id)
    if change.status == ChangeRequest.Status.PENDING:
        return (
            f"You approved change request {change.pk}. It still needs "
            f"{outstanding_text(change)} before it applies."
        )
    if change.status == ChangeRequest.Status.APPLIED:
        follow_up = (change.result or {}).get("schedule_request")
        if isinstance(follow_up, int):
            return (
                f"You approved change request {change.pk}. The change is applied. The billing "
                f"schedule follows it through change request {follow_up}, which waits for "
                "approval: until it is approved, drafts bill the old terms and are held."
            )
        return f"You approved change request {change.pk}. The change is applied."
    return f"You approved change request {change.pk}. It is now {change.get_status_display()}."


def _may_approve(user: User) -> bool:
    """Return whether ``user`` may approve, with their own roles or under a delegation."""
    if has_action(user, "change_approve"):
        return True
    return bool(delegations_active(user, timezone.localdate()))


def _requirements(change: ChangeRequest) -> list[dict[str, Any]]:
    rows = []
    for rule in change.required:
        needed = int(rule.get("approvals", 1))
        counted = list(rule.get("approved_by", []))
        rows.append(
            {
                "rule": rule.get("rule") or "no rule matched: any approver",
                "subject": rule.get("subject") or "\u2013",
                "role": role_label(rule.get("role") or ""),
                "needed": needed,
                "approved_by": counted,
                "mode": rule.get("mode", "enforce"),
                "met": len(counted) >= needed,
            }
        )
    return rows


def _target_url(change: ChangeRequest) -> str:
    """Return the page of the record the request changes, or "" when there is none."""
    try:
        key = int(change.target_id)
    except ValueError:
        return ""
    if change.target == Target.CONTRACT:
        number = Contract.objects.filter(pk=key).values_list("number", flat=True).first()
        return links.contract_url(number) if number else ""
    if change.target == Target.SCHEDULE:
        number = (
            BillingSchedule.objects.filter(pk=key)
            .values_list("contract__number", flat=True)
            .first()
        )
        return links.contract_url(number) if number else ""
    if change.target == Target.BILL_TO:
        code = BillToEntity.objects.filter(pk=key).values_list("party__code", flat=True).first()
        return links.customer_url(code) if code else ""
    return ""
