import pytest
from django.contrib.auth.models import Group, User

from billguard.cli.main import main
from billguard.controls.models import ApprovalRule
from billguard.controls.policy_yaml import policy_export, policy_seed
from billguard.controls.roles import roles_install

pytestmark = pytest.mark.django_db(transaction=True)

SHORTER_EXPIRY = """\
approval_rules:
  - name: policy change
    subject: policy
    role: administrator
settings:
  request_expiry_days: 7
"""


def test_migrate_seeds_policy_once(capsys):
    first = main(["migrate"])
    first_out = capsys.readouterr().out
    rules = ApprovalRule.objects.count()
    second = main(["migrate"])
    second_out = capsys.readouterr().out

    assert first == 0
    assert "default control policy loaded" in first_out
    assert rules == 11
    assert second == 0
    assert "default control policy loaded" not in second_out
    assert ApprovalRule.objects.count() == rules


def test_export_prints_policy(capsys):
    policy_seed()

    status = main(["policy", "export"])

    assert status == 0
    assert capsys.readouterr().out == policy_export()


def test_export_writes_file(capsys, tmp_path):
    policy_seed()
    path = tmp_path / "policy.yaml"

    status = main(["policy", "export", "--output", str(path)])

    assert status == 0
    assert path.read_text(encoding="utf-8") == policy_export()
    assert str(path) in capsys.readouterr().out


def test_show_prints_summary(capsys):
    policy_seed()

    status = main(["policy", "show"])

    out = capsys.readouterr().out
    assert status == 0
    assert "vendor bank details: vendor_bank_details needs 2 finance_approver" in out
    assert "discount above 10 percent: discount above 10 needs 1 finance_approver" in out
    assert "request_expiry_days             14" in out
    assert "*                               all                           enforce" in out
    assert "services      Standard services agreement (payment terms 30 days" in out


def test_import_invalid_file_exits_two(capsys, tmp_path, monkeypatch):
    User.objects.create_user("ana")
    monkeypatch.setenv("BILLGUARD_USER", "ana")
    path = tmp_path / "policy.yaml"
    path.write_text("approval_rules:\n  - {name: a, subject: discount, role: boss}\n")

    status = main(["policy", "import", str(path), "--reason", "new rules"])

    err = capsys.readouterr().err
    assert status == 2
    assert "approval_rules[0].role: unknown role (found 'boss')" in err
    assert str(path) in err


def test_import_unknown_user_exits_two(capsys, tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(SHORTER_EXPIRY)

    status = main(["policy", "import", str(path), "--reason", "x", "--user", "nobody"])

    err = capsys.readouterr().err
    assert status == 2
    assert "'nobody'" in err
    assert "--user" in err


def test_import_without_user_exits_two(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("BILLGUARD_USER", raising=False)
    path = tmp_path / "policy.yaml"
    path.write_text(SHORTER_EXPIRY)

    status = main(["policy", "import", str(path), "--reason", "x"])

    assert status == 2
    assert "BILLGUARD_USER" in capsys.readouterr().err


def test_import_missing_file_exits_two(capsys, tmp_path):
    User.objects.create_user("ana")

    status = main(
        ["policy", "import", str(tmp_path / "nope.yaml"), "--reason", "x", "--user", "ana"]
    )

    assert status == 2
    assert "nope.yaml" in capsys.readouterr().err


def test_import_creates_change_request(capsys, tmp_path):
    from billguard.controls.models import ChangeRequest

    roles_install()
    policy_seed()
    admin = User.objects.create_user("ana")
    admin.groups.add(Group.objects.get(name="administrator"))
    path = tmp_path / "policy.yaml"
    path.write_text(SHORTER_EXPIRY)
    before = policy_export()

    status = main(["policy", "import", str(path), "--reason", "shorter expiry", "--user", "ana"])

    request = ChangeRequest.objects.get()
    assert status == 0
    assert f"change request {request.pk} created" in capsys.readouterr().out
    assert request.target == "policy"
    assert request.changes == {"yaml": SHORTER_EXPIRY}
    assert policy_export() == before
