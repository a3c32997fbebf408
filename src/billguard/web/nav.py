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
    # The actions of which a user needs one to see the entry; none: every signed-in user.
    actions: tuple[str, ...] = ()

    def allowed(self, can: Capabilities) -> bool:
        return not self.actions or any(can[action] for action in self.actions)


NAV: tuple[NavEntry, ...] = (
    NavEntry("Dashboard", "web:dashboard"),
    NavEntry("Exceptions", "web:exceptions"),
    NavEntry("Approvals", "web:approvals"),
    NavEntry("Contracts", "web:contracts"),
    NavEntry("Customers", "web:customers"),
    NavEntry("Invoices", "web:invoices"),
    NavEntry("Disputes", "web:disputes"),
    NavEntry("Billing runs", "web:billing-runs"),
    NavEntry("Imports", "web:imports", ("contract_create", "history_import")),
    NavEntry("Audit log", "web:audit", ("audit_read",)),
)


def nav_links(request: HttpRequest, can: Capabilities) -> list[dict[str, object]]:
    """The entries the user may open, with their address and whether the page is current."""
    links = []
    for entry in NAV:
        if not entry.allowed(can):
            continue
        try:
            href = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        current = request.path == href if href == "/" else request.path.startswith(href)
        links.append({"label": entry.label, "href": href, "current": current})
    return links
