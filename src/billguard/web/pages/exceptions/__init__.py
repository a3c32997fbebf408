"""The exception queue and its held drafts."""

from django.urls import path

from billguard.web.pages.exceptions.detail import (
    exception_assign_view,
    exception_detail,
    exception_override_view,
    exception_resolve_view,
)
from billguard.web.pages.exceptions.queue import exception_queue

urlpatterns = [
    path("exceptions/", exception_queue, name="exceptions"),
    path("exceptions/<int:invoice_id>/", exception_detail, name="exception"),
    path("exceptions/<int:invoice_id>/resolve/", exception_resolve_view, name="exception-resolve"),
    path(
        "exceptions/<int:invoice_id>/override/", exception_override_view, name="exception-override"
    ),
    path("exceptions/<int:invoice_id>/assign/", exception_assign_view, name="exception-assign"),
]
