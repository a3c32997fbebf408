"""The API's routes; the OpenAPI document is served at /api/openapi.json."""

from django.urls import path, register_converter
from drf_spectacular.views import SpectacularJSONAPIView

from billguard.api import approvals, billing, guard, receivables, registry


class RecordIdConverter:
    """A record id in a path: a whole number that fits a 64-bit signed database column.

    A longer number does not match the route, so it gets 404 instead of an overflow in the
    database driver.
    """

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(RecordIdConverter, "id")

urlpatterns = [
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("parties/", registry.PartyList.as_view()),
    path("parties/<str:code>/", registry.PartyDetail.as_view()),
    path("bill-tos/", registry.BillToList.as_view()),
    path("bill-tos/<str:code>/", registry.BillToDetail.as_view()),
    path("contracts/", registry.ContractList.as_view()),
    path("contracts/<str:number>/", registry.ContractDetail.as_view()),
    path("contracts/<str:number>/versions/", registry.ContractVersionList.as_view()),
    path("contracts/<str:number>/activate/", registry.ContractActivate.as_view()),
    path("contracts/<str:number>/request-approval/", registry.ContractRequestApproval.as_view()),
    path("contracts/<str:number>/amendments/", registry.AmendmentList.as_view()),
    path("contracts/<str:number>/amendments/<str:amendment>/", registry.AmendmentDetail.as_view()),
    path(
        "contracts/<str:number>/amendments/<str:amendment>/sign/",
        registry.AmendmentSign.as_view(),
    ),
    path(
        "contracts/<str:number>/amendments/<str:amendment>/request-approval/",
        registry.AmendmentRequestApproval.as_view(),
    ),
    path("documents/", registry.DocumentList.as_view()),
    path("documents/<id:pk>/", registry.DocumentDetail.as_view()),
    path("documents/<id:pk>/content/", registry.DocumentContent.as_view()),
    path("change-requests/", approvals.ChangeRequestList.as_view()),
    path("change-requests/<id:pk>/", approvals.ChangeRequestDetail.as_view()),
    path("change-requests/<id:pk>/approve/", approvals.ChangeRequestApprove.as_view()),
    path("change-requests/<id:pk>/reject/", approvals.ChangeRequestReject.as_view()),
    path("change-requests/<id:pk>/withdraw/", approvals.ChangeRequestWithdraw.as_view()),
    path("billing-runs/", billing.BillingRunList.as_view()),
    path("billing-runs/<id:pk>/", billing.BillingRunDetail.as_view()),
    path("billing-runs/<id:pk>/report/", billing.BillingRunReport.as_view()),
    path("exceptions/", billing.ExceptionList.as_view()),
    path("exceptions/<id:pk>/", billing.ExceptionDetail.as_view()),
    path("exceptions/<id:pk>/resolve/", billing.ExceptionResolve.as_view()),
    path("exceptions/<id:pk>/override/", billing.ExceptionOverride.as_view()),
    path("invoices/", billing.InvoiceList.as_view()),
    path("invoices/<id:pk>/", billing.InvoiceDetail.as_view()),
    path("invoices/<id:pk>/ubl/", billing.InvoiceUbl.as_view()),
    path("invoices/<id:pk>/credit-notes/", billing.InvoiceCreditNotes.as_view()),
    path("payments/", receivables.PaymentList.as_view()),
    path("payments/<id:pk>/", receivables.PaymentDetail.as_view()),
    path("payments/<id:pk>/allocations/", receivables.PaymentAllocations.as_view()),
    path("disputes/", receivables.DisputeList.as_view()),
    path("disputes/<id:pk>/", receivables.DisputeDetail.as_view()),
    path("disputes/<id:pk>/resolve/", receivables.DisputeResolve.as_view()),
    path("disputes/<id:pk>/reject/", receivables.DisputeReject.as_view()),
    path("receivables/ageing/", receivables.ReceivablesAgeing.as_view()),
    path("guard/", guard.GuardView.as_view(), name="guard"),
    path("guard/checks/", guard.StoredCheckList.as_view(), name="guard-checks"),
    path("guard/checks/<id:pk>/", guard.StoredCheckDetail.as_view(), name="guard-check"),
    path("webhooks/stripe/", guard.StripeWebhookView.as_view(), name="stripe-webhook"),
]
