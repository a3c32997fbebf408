"""Users and the roles they hold: creating users and changing their roles.

Roles are Django auth groups (see billguard.controls.roles). Only an administrator changes
who has which role, and every change leaves an audit entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.contrib.auth.models import Group, User
from django.db import transaction

from billguard.controls.models.roles import Role
from billguard.controls.roles import role_of, roles_install, user_roles
from billguard.controls.services import DEFAULT_ACTOR, audit_record
from billguard.domain.errors import InvalidInput, NotAllowed, NotFound, RuleViolation

MAX_USERNAME_LENGTH = 150


def require_administrator(user: User) -> None:
    """Raise NotAllowed unless ``user`` is active and has the administrator role."""
    if Role.ADMINISTRATOR.value not in user_roles(user):
        roles = ", ".join(sorted(user_roles(user))) or "no role"
        raise NotAllowed(
            f"{user.get_username()} ({roles}) may not change users or roles.",
            place="--user",
            value=user.get_username(),
            fix="Ask a user with the administrator role to make the change.",
        )


def administrators_exist() -> bool:
    """Return True when at least one active user has the administrator role."""
    return User.objects.filter(is_active=True, groups__name=Role.ADMINISTRATOR.value).exists()


def user_by_name(username: str, *, place: str = "user") -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise NotFound(
            f"user {username!r} does not exist.",
            place=place,
            value=username,
            fix="List the users with `billguard users list`, or add one with "
            "`billguard users add NAME --role ROLE`.",
        )
    return user


@transaction.atomic
def user_create(
    *, username: str, roles: Sequence[str], email: str = "", by: User | None = None
) -> User:
    """Create an active user holding ``roles``; ``by`` must be an administrator when given."""
    if by is not None:
        require_administrator(by)

    username = username.strip()
    _validate_username(username)
    if User.objects.filter(username=username).exists():
        raise RuleViolation(
            f"user {username!r} already exists.",
            place="NAME",
            value=username,
            fix="Change its roles with `billguard users role NAME --add ROLE`.",
        )
    role_names = _role_names(roles)
    if not role_names:
        raise InvalidInput(
            "a user needs at least one role.",
            place="--role",
            fix=f"Give --role with one of: {', '.join(Role.values)}.",
        )

    # Without a password, Django stores an unusable one: these users act through --user.
    user = User.objects.create_user(username=username, email=email.strip())
    user.groups.set(_groups(role_names))
    audit_record(
        actor=by.get_username() if by is not None else DEFAULT_ACTOR,
        action="user.create",
        record=user,
        before=None,
        after={"username": username, "email": user.email, "roles": sorted(role_names)},
    )
    return user


@transaction.atomic
def user_roles_change(
    *,
    username: str,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    by: User | None = None,
) -> User:
    """Give ``username`` the roles in ``add`` and take away those in ``remove``.

    The last active administrator keeps the administrator role, so that someone can still
    change roles afterwards.
    """
    if by is not None:
        require_administrator(by)
    added, removed = _role_names(add), _role_names(remove)
    if not added and not removed:
        raise InvalidInput(
            "no role to add or remove.",
            place="--add/--remove",
            fix="Give --add ROLE or --remove ROLE.",
        )
    both = added & removed
    if both:
        raise InvalidInput(
            f"role {', '.join(sorted(both))} is both added and removed.",
            place="--add/--remove",
            value=", ".join(sorted(both)),
        )
    user = User.objects.select_for_update().filter(username=username).first()
    if user is None:
        user = user_by_name(username, place="NAME")
    before = set(user.groups.values_list("name", flat=True))
    if Role.ADMINISTRATOR.value in removed & before and user.is_active:
        others = (
            User.objects.filter(is_active=True, groups__name=Role.ADMINISTRATOR.value)
            .exclude(pk=user.pk)
            .exists()
        )
        if not others:
            raise RuleViolation(
                f"{username} is the last active administrator.",
                place="--remove",
                value=Role.ADMINISTRATOR.value,
                fix="Give another user the administrator role first.",
            )
    after = (before | added) - removed
    user.groups.set(_groups(after))
    audit_record(
        actor=by.get_username() if by is not None else DEFAULT_ACTOR,
        action="user.roles_change",
        record=user,
        before={"roles": sorted(before)},
        after={"roles": sorted(after)},
    )
    return user


MIN_PASSWORD_LENGTH = 10


@transaction.atomic
def user_password_set(*, username: str, password: str, by: User | None = None) -> User:
    """Set the password ``username`` signs in to the web pages with.

    A user sets their own password; an administrator sets anyone's. ``by`` None is the
    command line of the machine itself (the sample company and the first administrator).
    The audit entry records that the password changed, never the password.
    """
    user = User.objects.select_for_update().filter(username=username).first()
    if user is None:
        user = user_by_name(username, place="NAME")
    if by is not None and by.pk != user.pk:
        require_administrator(by)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"the password has {len(password)} characters; it needs at least "
            f"{MIN_PASSWORD_LENGTH}.",
            place="password",
            fix=f"Choose a password of {MIN_PASSWORD_LENGTH} characters or more.",
        )
    if password.strip() != password or not password.isprintable():
        raise InvalidInput(
            "the password starts or ends with a space, or holds a control character.",
            place="password",
            fix="Type the password again without leading or trailing spaces.",
        )
    if password.lower() == username.lower():
        raise InvalidInput(
            "the password is the user name.",
            place="password",
            fix="Choose a password that differs from the user name.",
        )
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(
        actor=by.get_username() if by is not None else DEFAULT_ACTOR,
        action="user.password_set",
        record=user,
        before=None,
        after={"password": "changed"},
    )
    return user


def users_list() -> list[tuple[User, list[str]]]:
    """Return every user, active or not, in name order with the names of their roles."""
    users = User.objects.order_by("username").prefetch_related("groups")
    return [(user, sorted(group.name for group in user.groups.all())) for user in users]


def _role_names(roles: Iterable[str]) -> set[str]:
    return {role_of(name).value for name in roles}


def _groups(role_names: Iterable[str]) -> list[Group]:
    names = set(role_names)
    groups = list(Group.objects.filter(name__in=names))
    if len(groups) < len(names):
        # The role groups are missing in a database migrated before roles existed.
        groups = [g for g in roles_install() if g.name in names]
    return groups


def _validate_username(username: str) -> None:
    if not username:
        raise InvalidInput("the user name is empty.", place="NAME", fix="Give a name.")
    if len(username) > MAX_USERNAME_LENGTH or not all(
        c.isalnum() or c in "@.+-_" for c in username
    ):
        raise InvalidInput(
            f"{username!r} is not a valid user name.",
            place="NAME",
            value=username,
            fix=f"Use at most {MAX_USERNAME_LENGTH} letters, digits and @ . + - _, "
            "such as fran.finance.",
        )
