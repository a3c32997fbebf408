"""The URL map of the application: the REST API under /api/, the pages everywhere else."""

from django.urls import include, path

urlpatterns = [
    path("api/", include("billguard.api.urls")),
    path("", include("billguard.web.urls")),
]

# JSON error bodies for unknown and failing /api/ paths (used when DEBUG is off).
handler404 = "billguard.api.errors.page_not_found"
handler500 = "billguard.api.errors.server_error"
