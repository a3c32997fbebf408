"""`billguard users token` and the parser of `billguard serve`."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from billguard.cli.main import build_parser, main
from billguard.controls.models.audit import AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)


def token_printed(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["users", "token", *argv]) == 0
    return capsys.readouterr().out.strip()


def status_with(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/parties/", HTTP_HOST="127.0.0.1").status_code


def test_token_created_once(capsys, sample_users: dict[str, User]) -> None:
    first = token_printed(capsys, "fran.finance")
    again = token_printed(capsys, "fran.finance")

    assert len(first) == 40
    assert again == first
    assert Token.objects.get(user__username="fran.finance").key == first
    assert status_with(first) == 200


def test_token_rotate_invalidates_old(capsys, sample_users: dict[str, User]) -> None:
    old = token_printed(capsys, "fran.finance")
    new = token_printed(capsys, "fran.finance", "--rotate")

    assert new != old
    assert status_with(old) == 401
    assert status_with(new) == 200
    actions = list(
        AuditEntry.objects.filter(action__startswith="api.token").values_list("action", flat=True)
    )
    assert actions == ["api.token_create", "api.token_rotate"]
    assert old not in str(list(AuditEntry.objects.values_list("after", flat=True)))


def test_token_unknown_user_exits_two(capsys, sample_users: dict[str, User]) -> None:
    status = main(["users", "token", "nobody"])

    assert status == 2
    assert "'nobody' does not exist" in capsys.readouterr().err
    assert not Token.objects.exists()


def test_token_deactivated_user_refused(capsys, sample_users: dict[str, User]) -> None:
    User.objects.filter(username="sam.sales").update(is_active=False)

    status = main(["users", "token", "sam.sales"])

    assert status == 2
    assert "deactivated" in capsys.readouterr().err


def test_serve_options() -> None:
    defaults = build_parser().parse_args(["serve"])
    chosen = build_parser().parse_args(["serve", "--host", "localhost", "--port", "8080"])

    assert (defaults.host, defaults.port) == ("127.0.0.1", 8000)
    assert (chosen.host, chosen.port) == ("localhost", 8080)


def test_serve_rejects_bad_port(capsys) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--port", "eighty"])

    assert "'eighty' is not a whole number" in capsys.readouterr().err
