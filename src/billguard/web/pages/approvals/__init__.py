"""The approvals inbox and the page of one change request."""

from django.urls import path

from billguard.web.pages.approvals.views import approval, approvals

urlpatterns = [
    path("approvals/", approvals, name="approvals"),
    path("approvals/<int:request_id>/", approval, name="approval"),
]
