"""Page access: the roles of the controls decide who opens a page and what it offers.

A page view is wrapped in :func:`page`: it needs a signed-in, active user, and, when the
page writes or shows something only some roles may see, the action that grants it. The
same actions guard the services the page calls, so a form that slips past a hidden button
is still refused by the service.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from billguard.controls.actions import ACTIONS
from billguard.controls.roles import has_action, user_roles

View = TypeVar("View", bound=Callable[..., HttpResponse])


def page(*actions: str) -> Callable[[View], View]:
    """Require a signed-in user whose roles grant every action in ``actions`` (none: any role)."""
    for action in actions:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated or not user.is_active:
                return redirect_to_login(request.get_full_path())
            for action in actions:
                require(user, action)
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


def require(user: User, action: str) -> None:
    """Raise PermissionDenied (403) naming the missing action, unless ``user`` may act."""
    if not has_action(user, action):
        roles = ", ".join(sorted(user_roles(user))) or "no role"
        raise PermissionDenied(
            f"{user.get_username()} ({roles}) may not {ACTIONS[action]}. Ask an administrator "
            "for a role that grants it, or ask a colleague who has one."
        )


class Capabilities:
    """Actions the signed-in user may take, for templates: ``{% if can.change_approve %}``."""

    def __init__(self, user: Any) -> None:
        self._user = user
        self._cache: dict[str, bool] = {}

    def __getitem__(self, action: str) -> bool:
        if action not in ACTIONS:
            raise KeyError(action)
        if action not in self._cache:
            user = self._user
            self._cache[action] = bool(
                user is not None and user.is_authenticated and has_action(user, action)
            )
        return self._cache[action]

    def __contains__(self, action: object) -> bool:
        return isinstance(action, str) and action in ACTIONS and self[action]
