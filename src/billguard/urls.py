"""The URL map of the application: the REST API under /api/."""

from django.urls import include, path

urlpatterns = [
    path("api/", include("billguard.api.urls")),
]
