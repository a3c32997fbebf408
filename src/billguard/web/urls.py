"""The pages of the web application, under the site root (the REST API is under /api/)."""

from django.urls import include, path

from billguard.web import auth
from billguard.web.pages import (
    approvals,
    audit,
    billing_runs,
    contracts,
    customers,
    dashboard,
    disputes,
    exceptions,
    imports,
    invoices,
)

app_name = "web"

urlpatterns = [
    path("", include(auth)),
    path("", include(dashboard)),
    path("", include(imports)),
    path("", include(customers)),
    path("", include(disputes)),
    path("", include(billing_runs)),
    path("", include(audit)),
    path("", include(exceptions)),
    path("", include(invoices)),
    path("", include(approvals)),
    path("", include(contracts)),
]
