"""The contract list and the contract page, with its change form and document downloads."""

from django.urls import path

from billguard.web.pages.contracts.views import (
    contract,
    contract_document,
    contract_request_change,
    contracts,
)

urlpatterns = [
    path("contracts/", contracts, name="contracts"),
    path("contracts/<str:number>/", contract, name="contract"),
    path(
        "contracts/<str:number>/request-change/",
        contract_request_change,
        name="contract-request-change",
    ),
    path(
        "contracts/<str:number>/documents/<int:document_id>/",
        contract_document,
        name="contract-document",
    ),
]
