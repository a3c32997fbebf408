"""The invoice trace: why an invoice is what it is, from the signed terms to its payments.

Each part takes one or two queries, so the page costs the same for any invoice.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from billguard.billing.models import ExceptionResolution, Invoice
from billguard.controls.models import Approval, ChangeRequest
from billguard.controls.models.policy import Target
from billguard.controls.services import record_label
from billguard.receivables.models import Dispute, PaymentAllocation
from billguard.registry.models import BillingSchedule
from billguard.web.access import page

# The change requests shown per invoice; a contract with more shows the latest ones.
CHANGE_REQUESTS_SHOWN = 50


@page()
def invoice_trace(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = get_object_or_404(
        Invoice.objects.select_related(
            "seller_entity",
            "contract__party",
            "bill_to",
            "billing_run",
            "contract_version__amendment__document",
            "contract_version__sow_document",
            "contract_version__change_request__requested_by",
            "terms_document",
            "credited_invoice",
            "replaces",
        ),
        pk=invoice_id,
    )
    record_type, record_id = record_label(invoice)
    context: dict[str, Any] = {
        "invoice": invoice,
        "version": invoice.contract_version,
        "change_requests": _change_requests(invoice),
        "findings": list(invoice.findings.order_by("severity", "code", "pk")),
        "resolutions": list(ExceptionResolution.objects.filter(invoice=invoice).order_by("pk")),
        "credit_notes": list(invoice.credit_notes.order_by("pk")),
        "reissues": list(invoice.reissues.order_by("pk")),
        "allocations": list(
            PaymentAllocation.objects.filter(invoice=invoice)
            .select_related("payment")
            .order_by("payment__received_on", "pk")
        ),
        "disputes": list(
            Dispute.objects.filter(Q(invoice=invoice) | Q(credit_note=invoice))
            .select_related("credit_note", "reissued_invoice")
            .order_by("opened_on", "pk")
        ),
        "lines": list(invoice.lines.all()),
        "tax_subtotals": list(invoice.tax_subtotals.order_by("category", "rate")),
        "audit_query": urlencode({"record_type": record_type, "record_id": record_id}),
    }
    return render(request, "web/invoices/trace.html", context)


def _change_requests(invoice: Invoice) -> list[ChangeRequest]:
    """Return the change requests behind the invoice's terms and its override, with their approvals.

    These are the requests on its contract and billing schedule applied before the invoice was
    issued (all applied ones for an invoice not issued yet), the one that created its contract
    version, and the overrides of the invoice itself.
    """
    condition = Q(target=Target.INVOICE_OVERRIDE, target_id=str(invoice.pk))
    version = invoice.contract_version
    if version is not None and version.change_request_id is not None:
        condition |= Q(pk=version.change_request_id)
    if invoice.contract_id is not None:
        targets = Q(target=Target.CONTRACT, target_id=str(invoice.contract_id))
        schedule = BillingSchedule.objects.filter(contract_id=invoice.contract_id).values_list(
            "pk", flat=True
        )
        targets |= Q(target=Target.SCHEDULE, target_id__in=[str(pk) for pk in schedule])
        applied = Q(status=ChangeRequest.Status.APPLIED)
        if invoice.issued_at is not None:
            applied &= Q(applied_at__lte=invoice.issued_at)
        condition |= targets & applied
    approvals = Approval.objects.select_related("approver", "on_behalf_of").order_by(
        "decided_at", "pk"
    )
    return list(
        ChangeRequest.objects.filter(condition)
        .select_related("requested_by", "amendment")
        .prefetch_related(Prefetch("approvals", queryset=approvals))
        .order_by("-requested_at", "-pk")[:CHANGE_REQUESTS_SHOWN]
    )
