"""The API's routes; the OpenAPI document is served at /api/openapi.json."""

from django.urls import path
from drf_spectacular.views import SpectacularJSONAPIView

urlpatterns = [
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
]
