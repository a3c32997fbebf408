"""API tokens: one per user, created or rotated from the command line."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from rest_framework.authtoken.models import Token

from billguard.controls.services import DEFAULT_ACTOR, audit_record
from billguard.domain.errors import NotAllowed, NotFound


@transaction.atomic
def token_issue(
    username: str, *, rotate: bool = False, by: User | None = None
) -> tuple[Token, bool]:
    """Return the user's token, creating it when missing or replacing it when ``rotate``.

    The boolean is true when a new key was made. Rotating invalidates the old key at once.
    The audit entry records who made the key and when, never the key itself.
    """
    user = User.objects.filter(username=username).first()
    if user is None:
        raise NotFound(
            f"user {username!r} does not exist.",
            place="USERNAME",
            value=username,
            fix="Give the name of an existing user (`billguard users list`).",
        )
    if not user.is_active:
        raise NotAllowed(
            f"user {username!r} is deactivated, so it may not have an API token.",
            place="USERNAME",
            value=username,
            fix="Ask an administrator to reactivate the user first.",
        )
    existing = Token.objects.filter(user=user).first()
    if existing is not None and not rotate:
        return existing, False
    if existing is not None:
        existing.delete()
    token = Token.objects.create(user=user)
    audit_record(
        actor=by.get_username() if by is not None else DEFAULT_ACTOR,
        action="api.token_rotate" if existing is not None else "api.token_create",
        record=user,
        before={"token_created": existing.created.isoformat()} if existing is not None else None,
        after={"token_created": token.created.isoformat()},
    )
    return token, True
