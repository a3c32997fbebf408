"""The main navigation: each entry shows only when its page exists and the user may open it."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from billguard.web.access import Capabilities


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    # The action a user needs to see the entry; empty: every signed-in user.
    action: str = ""


NAV: tuple[NavEntry, ...] = (
    NavEntry("Dashboard", "web:dashboard"),
    NavEntry("Exceptions", "web:exceptions"),
    NavEntry("Approvals", "web:approvals"),
    NavEntry("Contracts", "web:contracts"),
    NavEntry("Customers", "web:customers"),
    NavEntry("Invoices", "web:invoices"),
    NavEntry("Disputes", "web:disputes"),
    NavEntry("Billing runs", "web:billing-runs"),
    NavEntry("Imports", "web:imports"),
    NavEntry("Audit log", "web:audit", "audit_read"),
)


def nav_links(request: HttpRequest, can: Capabilities) -> list[dict[str, object]]:
    """The entries the user may open, with their address and whether the page is current."""
    links = []
    for entry in NAV:
        if entry.action and not can[entry.action]:
            continue
        try:
            href = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        current = request.path == href if href == "/" else request.path.startswith(href)
        links.append({"label": entry.label, "href": href, "current": current})
    return links
