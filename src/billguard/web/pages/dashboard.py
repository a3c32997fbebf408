"""The dashboard: the figures that show whether the controls pay off."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from billguard.web.access import page


@page()
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "web/dashboard.html", {})


urlpatterns = [
    path("", dashboard, name="dashboard"),
]
