"""Users with roles, for tests of services that take the acting user."""

from __future__ import annotations

from django.contrib.auth.models import Group, User

from billguard.controls.roles import roles_install


def make_user(username: str, *roles: str, active: bool = True) -> User:
    """Create a user with ``roles`` (role names such as ``finance_approver``)."""
    if not Group.objects.filter(name="administrator").exists():
        roles_install()
    user = User.objects.create_user(username=username, is_active=active)
    user.groups.add(*Group.objects.filter(name__in=roles))
    # Fetched again so that no permission cache of the creating code is kept.
    return User.objects.get(pk=user.pk)
