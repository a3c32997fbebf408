"""The API's routes; the OpenAPI document is served at /api/openapi.json."""

from django.urls import path
from drf_spectacular.views import SpectacularJSONAPIView

from billguard.api import guard

urlpatterns = [
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("guard", guard.GuardView.as_view(), name="guard"),
    path("guard/checks", guard.StoredCheckList.as_view(), name="guard-checks"),
    path("guard/checks/<int:check_id>", guard.StoredCheckDetail.as_view(), name="guard-check"),
    path("webhooks/stripe", guard.StripeWebhookView.as_view(), name="stripe-webhook"),
]
