"""The acting user of a command, and the ``billguard users`` subcommands."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from billguard.cli.main import EXIT_OK

if TYPE_CHECKING:
    from django.contrib.auth.models import User

USER_ENVIRONMENT_VARIABLE = "BILLGUARD_USER"


def add_user_option(parser: argparse.ArgumentParser, *, top_level: bool = False) -> None:
    """Add ``--user NAME`` to the top-level parser, or to a subcommand's parser.

    Only the top-level option has a default (BILLGUARD_USER). A subcommand's option has none,
    so that the name in ``billguard --user NAME run`` is kept, and either place works.
    """
    parser.add_argument(
        "--user",
        metavar="NAME",
        default=os.environ.get(USER_ENVIRONMENT_VARIABLE, "") if top_level else argparse.SUPPRESS,
        help="the acting user, whose roles decide what the command may change "
        f"(default: ${USER_ENVIRONMENT_VARIABLE}); needed by every command that writes",
    )


def acting_user(args: argparse.Namespace) -> User:
    """Return the user that ``--user`` (or BILLGUARD_USER) names, or raise when it is missing."""
    from django.contrib.auth.models import User

    from billguard.domain.errors import InvalidInput, NotAllowed, NotFound

    name = (getattr(args, "user", "") or "").strip()
    if not name:
        raise InvalidInput(
            "this command changes data, so it needs the acting user.",
            place="--user",
            fix=f"Give --user NAME or set {USER_ENVIRONMENT_VARIABLE}=NAME; "
            "`billguard users list` shows the users.",
        )
    user = User.objects.filter(username=name).first()
    if user is None:
        raise NotFound(
            f"user {name!r} does not exist.",
            place="--user",
            value=name,
            fix="Give the name of an existing user (`billguard users list`), or ask an "
            "administrator to add it with `billguard users add NAME --role ROLE`.",
        )
    if not user.is_active:
        raise NotAllowed(
            f"user {name!r} is deactivated.",
            place="--user",
            value=name,
            fix="Ask an administrator to reactivate the user.",
        )
    return user


def add_users_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = sub.add_parser(
        "users",
        help="list users, add them and change their roles",
        description="Without an action, list the users with their roles.",
    )
    users.set_defaults(handler=users_list)
    users_sub = users.add_subparsers(dest="action", metavar="ACTION")

    listing = users_sub.add_parser("list", help="list the users with their roles and state")
    listing.set_defaults(handler=users_list)

    add = users_sub.add_parser(
        "add",
        help="add a user with one or more roles (administrators only)",
        description="Add a user. Only an administrator (--user) adds users, except the first "
        "administrator of a new database, which is added without --user.",
    )
    add.add_argument("name", metavar="NAME", help="the user name, such as fran.finance")
    add.add_argument(
        "--role",
        action="append",
        required=True,
        metavar="ROLE",
        help="a role to give (repeatable): sales, procurement, finance, finance_approver, "
        "administrator, auditor",
    )
    add.add_argument("--email", default="", help="the user's email address")
    add_user_option(add)
    add.set_defaults(handler=users_add)

    role = users_sub.add_parser(
        "role",
        help="give or take away roles (administrators only)",
        description="Change the roles of a user. Only an administrator (--user) may.",
    )
    role.add_argument("name", metavar="NAME")
    role.add_argument("--add", action="append", default=[], metavar="ROLE", help="role to give")
    role.add_argument(
        "--remove", action="append", default=[], metavar="ROLE", help="role to take away"
    )
    add_user_option(role)
    role.set_defaults(handler=users_role)

    password = users_sub.add_parser(
        "password",
        help="set the password a user signs in to the web pages with",
        description="Set a user's password for the web pages. A user sets their own; an "
        "administrator (--user) sets anyone's. The password is read from the terminal twice, "
        "or once from standard input with --stdin.",
    )
    password.add_argument("name", metavar="NAME")
    password.add_argument(
        "--stdin", action="store_true", help="read the password from the first line of stdin"
    )
    add_user_option(password)
    password.set_defaults(handler=users_password)

    from billguard.cli.api import add_token_parser

    add_token_parser(users_sub)


def users_list(args: argparse.Namespace) -> int:
    from billguard.controls.users import users_list as users_with_roles

    rows = users_with_roles()
    if not rows:
        print(
            "no users yet; add the first administrator with: "
            "billguard users add NAME --role administrator"
        )
        return EXIT_OK
    print(f"{'name':<24}{'active':<8}roles")
    for user, roles in rows:
        active = "yes" if user.is_active else "no"
        print(f"{user.get_username():<24}{active:<8}{', '.join(roles) or '-'}")
    return EXIT_OK


def users_add(args: argparse.Namespace) -> int:
    from billguard.controls.models.roles import Role
    from billguard.controls.roles import role_of
    from billguard.controls.users import administrators_exist, user_create
    from billguard.domain.errors import NotAllowed

    if administrators_exist():
        by: User | None = acting_user(args)
    else:
        roles = {role_of(name) for name in args.role}
        if Role.ADMINISTRATOR not in roles:
            raise NotAllowed(
                "no administrator exists yet, so the first user added must be one.",
                place="--role",
                fix=f"Add the first user with: billguard users add {args.name} --role "
                "administrator",
            )
        by = None
    user = user_create(username=args.name, roles=args.role, email=args.email, by=by)
    roles_text = ", ".join(sorted(user.groups.values_list("name", flat=True)))
    print(f"added user {user.get_username()} ({roles_text})")
    return EXIT_OK


def users_role(args: argparse.Namespace) -> int:
    from billguard.controls.users import user_roles_change

    by = acting_user(args)
    user = user_roles_change(username=args.name, add=args.add, remove=args.remove, by=by)
    roles_text = ", ".join(sorted(user.groups.values_list("name", flat=True))) or "no role"
    print(f"{user.get_username()} now holds: {roles_text}")
    return EXIT_OK


def users_password(args: argparse.Namespace) -> int:
    import getpass
    import sys

    from billguard.controls.users import administrators_exist, user_password_set
    from billguard.domain.errors import InvalidInput

    by: User | None = acting_user(args) if administrators_exist() else None
    if args.stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"New password for {args.name}: ")
        again = getpass.getpass("The same password again: ")
        if password != again:
            raise InvalidInput(
                "the two passwords differ.",
                place="password",
                fix="Run the command again and type the same password twice.",
            )
    user = user_password_set(username=args.name, password=password, by=by)
    print(f"password set for {user.get_username()}")
    return EXIT_OK
