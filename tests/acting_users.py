"""Users holding roles, for tests of services that take the acting user."""

from __future__ import annotations

from django.contrib.auth.models import Group, User

from billguard.controls.roles import roles_install


def make_user(username: str, *roles: str) -> User:
    """Create an active user who holds ``roles`` (role names such as "finance")."""
    roles_install()
    user = User.objects.create_user(username)
    user.groups.add(*Group.objects.filter(name__in=roles))
    return user
