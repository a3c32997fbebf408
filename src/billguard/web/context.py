"""Template context for every page: the user's roles, capabilities and navigation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from billguard.controls.roles import user_roles
from billguard.web.access import Capabilities
from billguard.web.nav import nav_links


def web(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"can": Capabilities(None), "nav": [], "roles": []}
    can = Capabilities(user)
    return {
        "can": can,
        "nav": nav_links(request, can),
        "roles": sorted(user_roles(user)),
    }
