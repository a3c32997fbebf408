"""``billguard serve`` and ``billguard users token``: the web pages and the REST API."""

from __future__ import annotations

import argparse

from billguard.cli.main import EXIT_OK, positive_int


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser(
        "serve",
        help="serve the web pages and the REST API (/api/) over HTTP",
        description="Serve the web pages and the REST API with Django's development server, "
        "without autoreload. For production, run billguard.wsgi:application under gunicorn: "
        "BILLGUARD_SECRET_KEY=... BILLGUARD_ALLOWED_HOSTS=host gunicorn --bind 127.0.0.1:8000 "
        "billguard.wsgi:application",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=positive_int, default=8000, help="TCP port to listen on (default 8000)"
    )
    serve.set_defaults(handler=serve_api)


def add_token_parser(users_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = users_sub.add_parser(
        "token",
        help="print a user's API token, creating it if missing",
        description="Print the key the user sends as `Authorization: Token KEY` to the REST "
        "API. The user gets a token on first use; --rotate replaces it, and the old key stops "
        "working at once.",
    )
    token.add_argument("name", metavar="USERNAME", help="the user, such as fran.finance")
    token.add_argument(
        "--rotate", action="store_true", help="replace the user's key with a new one"
    )
    token.set_defaults(handler=users_token)


def users_token(args: argparse.Namespace) -> int:
    from django.contrib.auth.models import User

    from billguard.api.tokens import token_issue

    operator = (getattr(args, "user", "") or "").strip()
    by = User.objects.filter(username=operator).first() if operator else None
    token, _created = token_issue(args.name, rotate=args.rotate, by=by)
    print(token.key)
    return EXIT_OK


def serve_api(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    call_command("runserver", f"{args.host}:{args.port}", use_reloader=False)
    return EXIT_OK
