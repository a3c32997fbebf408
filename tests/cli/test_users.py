import pytest
from django.contrib.auth.models import Group, User

from billguard.billing.models import BillingRun, Invoice
from billguard.cli.main import main
from billguard.controls.models import AuditEntry
from billguard.controls.models.roles import Role
from billguard.sample.users import SAMPLE_USERS, sample_users_create
from tests.factories import make_contract

pytestmark = pytest.mark.django_db(transaction=True)


def roles_of(name: str) -> set[str]:
    return set(User.objects.get(username=name).groups.values_list("name", flat=True))


def test_migrate_installs_roles(capsys):
    Group.objects.all().delete()

    status = main(["migrate"])

    assert status == 0
    assert set(Group.objects.values_list("name", flat=True)) == set(Role.values)
    assert "roles installed" in capsys.readouterr().out


def test_sample_users_one_per_role_twice():
    sample_users_create()
    sample_users_create()

    assert User.objects.count() == len(SAMPLE_USERS)
    for name, role, _ in SAMPLE_USERS:
        assert roles_of(name) == {role.value}
    assert roles_of("blake.approver") == {Role.FINANCE_APPROVER.value}


def test_run_without_user_exits_two(capsys, monkeypatch):
    monkeypatch.delenv("BILLGUARD_USER", raising=False)
    make_contract()

    status = main(["run", "--period", "2026-11"])

    err = capsys.readouterr().err
    assert status == 2
    assert "--user" in err
    assert "BILLGUARD_USER" in err
    assert BillingRun.objects.count() == 0


def test_run_unknown_user_exits_two(capsys, sample_users):
    make_contract()

    status = main(["run", "--period", "2026-11", "--user", "ghost"])

    err = capsys.readouterr().err
    assert status == 2
    assert "'ghost' does not exist" in err
    assert "billguard users add" in err
    assert BillingRun.objects.count() == 0


def test_run_by_sales_is_refused(capsys, sample_users):
    make_contract()

    status = main(["--user", "sam.sales", "run", "--period", "2026-11"])

    assert status == 2
    assert "sam.sales (sales) may not start a billing run" in capsys.readouterr().err
    assert BillingRun.objects.count() == 0
    assert Invoice.objects.count() == 0


def test_run_by_inactive_finance_user_is_refused(capsys, sample_users):
    User.objects.filter(username="fran.finance").update(is_active=False)
    make_contract()

    status = main(["run", "--period", "2026-11"])

    assert status == 2
    assert "user 'fran.finance' is deactivated" in capsys.readouterr().err
    assert BillingRun.objects.count() == 0


def test_dry_run_needs_no_user(capsys, monkeypatch):
    monkeypatch.delenv("BILLGUARD_USER", raising=False)
    make_contract()

    status = main(["run", "--period", "2026-11", "--dry-run"])

    assert status == 0
    assert "dry run" in capsys.readouterr().out.lower()


def test_credit_records_acting_user(capsys, sample_users):
    make_contract()
    assert main(["run", "--period", "2026-11"]) == 0

    status = main(["credit", "ADE-000001", "--reason", "Billed twice", "--user", "alex.approver"])

    assert status == 0
    entry = AuditEntry.objects.get(action="credit_note.issue")
    assert entry.actor == "alex.approver"


def test_credit_by_auditor_writes_nothing(capsys, sample_users):
    make_contract()
    assert main(["run", "--period", "2026-11"]) == 0

    status = main(["--user", "audrey.auditor", "credit", "ADE-000001", "--reason", "Twice"])

    assert status == 2
    assert "may not issue a credit note" in capsys.readouterr().err
    assert Invoice.objects.filter(document_type="credit_note").count() == 0


def test_users_add_first_administrator_without_user(capsys, monkeypatch):
    monkeypatch.delenv("BILLGUARD_USER", raising=False)

    status = main(["users", "add", "root.admin", "--role", "administrator"])

    assert status == 0
    assert roles_of("root.admin") == {Role.ADMINISTRATOR.value}
    assert "added user root.admin (administrator)" in capsys.readouterr().out


def test_users_add_first_user_must_be_administrator(capsys, monkeypatch):
    monkeypatch.delenv("BILLGUARD_USER", raising=False)

    status = main(["users", "add", "kim", "--role", "sales"])

    assert status == 2
    assert "must be one" in capsys.readouterr().err
    assert not User.objects.exists()


def test_users_add_by_administrator(capsys, sample_users):
    status = main(
        [
            "--user",
            "ada.admin",
            "users",
            "add",
            "kim.sales",
            "--role",
            "sales",
            "--role",
            "finance-approver",
            "--email",
            "kim@acme.example",
        ]
    )

    assert status == 0
    assert roles_of("kim.sales") == {Role.SALES.value, Role.FINANCE_APPROVER.value}
    kim = User.objects.get(username="kim.sales")
    assert kim.email == "kim@acme.example"
    entry = AuditEntry.objects.get(action="user.create", record_id=str(kim.pk))
    assert entry.actor == "ada.admin"
    assert entry.after["roles"] == ["finance_approver", "sales"]


def test_users_add_by_finance_is_refused(capsys, sample_users):
    status = main(["users", "add", "kim.sales", "--role", "sales"])

    assert status == 2
    assert "fran.finance (finance) may not change users or roles" in capsys.readouterr().err
    assert not User.objects.filter(username="kim.sales").exists()


def test_users_add_unknown_role_exits_two(capsys, sample_users):
    status = main(["--user", "ada.admin", "users", "add", "kim", "--role", "boss"])

    err = capsys.readouterr().err
    assert status == 2
    assert "'boss' is not a role" in err
    assert "finance_approver" in err
    assert not User.objects.filter(username="kim").exists()


def test_users_add_existing_name_exits_two(capsys, sample_users):
    status = main(["--user", "ada.admin", "users", "add", "sam.sales", "--role", "finance"])

    assert status == 2
    assert "already exists" in capsys.readouterr().err
    assert roles_of("sam.sales") == {Role.SALES.value}


def test_users_list_shows_roles_and_state(capsys, sample_users):
    User.objects.filter(username="pat.procurement").update(is_active=False)

    status = main(["users", "list"])

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[0].split() == ["name", "active", "roles"]
    assert lines[1].split() == ["ada.admin", "yes", "administrator"]
    assert ["pat.procurement", "no", "procurement"] in [line.split() for line in lines]
    assert len(lines) == 1 + len(SAMPLE_USERS)


def test_users_role_add_and_remove(capsys, sample_users):
    status = main(
        [
            "users",
            "role",
            "sam.sales",
            "--add",
            "finance",
            "--remove",
            "sales",
            "--user",
            "ada.admin",
        ]
    )

    assert status == 0
    assert roles_of("sam.sales") == {Role.FINANCE.value}
    assert "sam.sales now holds: finance" in capsys.readouterr().out
    entry = AuditEntry.objects.get(action="user.roles_change")
    assert entry.actor == "ada.admin"
    assert entry.before == {"roles": ["sales"]}
    assert entry.after == {"roles": ["finance"]}


def test_users_role_by_non_administrator_is_refused(capsys, sample_users):
    status = main(["users", "role", "fran.finance", "--add", "administrator"])

    assert status == 2
    assert "may not change users or roles" in capsys.readouterr().err
    assert roles_of("fran.finance") == {Role.FINANCE.value}


def test_users_role_keeps_last_administrator(capsys, sample_users):
    assert (
        main(["--user", "ada.admin", "users", "role", "grace.admin", "--remove", "administrator"])
        == 0
    )
    capsys.readouterr()

    status = main(
        ["--user", "ada.admin", "users", "role", "ada.admin", "--remove", "administrator"]
    )

    assert status == 2
    assert "last active administrator" in capsys.readouterr().err
    assert roles_of("ada.admin") == {Role.ADMINISTRATOR.value}


def test_users_role_unknown_user_exits_two(capsys, sample_users):
    status = main(["--user", "ada.admin", "users", "role", "ghost", "--add", "sales"])

    assert status == 2
    assert "'ghost' does not exist" in capsys.readouterr().err


def test_users_role_without_change_exits_two(capsys, sample_users):
    status = main(["--user", "ada.admin", "users", "role", "sam.sales"])

    assert status == 2
    assert "no role to add or remove" in capsys.readouterr().err


def test_users_password_from_stdin_lets_the_user_sign_in(capsys, monkeypatch, sample_users):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password-1\n"))

    status = main(["users", "password", "sam.sales", "--stdin", "--user", "ada.admin"])

    assert status == 0
    assert "password set for sam.sales" in capsys.readouterr().out
    assert User.objects.get(username="sam.sales").check_password("a-long-password-1")


def test_users_password_of_someone_else_needs_an_administrator(capsys, monkeypatch, sample_users):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password-1\n"))

    status = main(["users", "password", "fran.finance", "--stdin", "--user", "sam.sales"])

    assert status == 2
    assert "may not change users or roles" in capsys.readouterr().err
    assert not User.objects.get(username="fran.finance").has_usable_password()


def test_users_password_typed_twice_differently_is_refused(capsys, monkeypatch, sample_users):
    answers = iter(["first-password-1", "second-password-2"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))

    status = main(["users", "password", "sam.sales", "--user", "sam.sales"])

    assert status == 2
    assert "the two passwords differ" in capsys.readouterr().err
    assert not User.objects.get(username="sam.sales").has_usable_password()
