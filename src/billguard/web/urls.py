"""The pages of the web application, under the site root (the REST API is under /api/)."""

from django.urls import include, path

from billguard.web import auth
from billguard.web.pages import approvals, contracts, dashboard

app_name = "web"

urlpatterns = [
    path("", include(auth)),
    path("", include(dashboard)),
    path("", include(approvals)),
    path("", include(contracts)),
]
