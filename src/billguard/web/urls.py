"""The pages of the web application, under the site root (the REST API is under /api/)."""

from django.urls import include, path

from billguard.web import auth
from billguard.web.pages import dashboard, exceptions, invoices

app_name = "web"

urlpatterns = [
    path("", include(auth)),
    path("", include(dashboard)),
    path("", include(exceptions)),
    path("", include(invoices)),
]
