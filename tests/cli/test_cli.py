import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from billguard.billing.models import BillingRun, Invoice
from billguard.cli.main import main
from tests.factories import make_contract

SHARED_EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "einvoice"


@pytest.mark.django_db(transaction=True)
def test_run_prints_report_and_exits_zero(capsys, tmp_path, sample_users):
    make_contract()
    report = tmp_path / "report.json"

    status = main(["run", "--period", "2026-11", "--json", str(report)])

    out = capsys.readouterr().out
    assert status == 0
    assert "invoices issued             1  1190.00 EUR" in out
    data = json.loads(report.read_text())
    assert data["invoices_issued"] == 1
    assert data["issued_total"] == {"EUR": "1190.00"}
    assert data["period"] == "2026-11"


@pytest.mark.django_db(transaction=True)
def test_run_with_held_draft_exits_one(capsys, sample_users):
    make_contract(sow_document_id=None)

    status = main(["run", "--period", "2026-11"])

    assert status == 1
    assert "SOW_MISSING" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_run_bad_period_exits_two_and_writes_nothing(capsys):
    make_contract()

    status = main(["run", "--period", "2026-13"])

    err = capsys.readouterr().err
    assert status == 2
    assert "2026-13" in err
    assert "--period" in err
    assert BillingRun.objects.count() == 0
    assert Invoice.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_run_unknown_contract_exits_two(capsys, sample_users):
    make_contract()

    status = main(["run", "--period", "2026-11", "--contract", "C-404"])

    assert status == 2
    assert "C-404" in capsys.readouterr().err
    assert BillingRun.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_check_unknown_contract_exits_one(capsys):
    status = main(["check", str(SHARED_EXAMPLES / "en16931-examples" / "ubl-tc434-example1.xml")])

    assert status == 1
    assert "CONTRACT_NOT_FOUND" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_check_unreadable_file_exits_two(capsys, tmp_path):
    broken = tmp_path / "broken.xml"
    broken.write_text("<Invoice><cbc:ID>1</Invoice>")

    status = main(["check", str(broken)])

    err = capsys.readouterr().err
    assert status == 2
    assert "broken.xml" in err


@pytest.mark.django_db(transaction=True)
def test_exceptions_resolve_unknown_id_exits_two(capsys, sample_users):
    status = main(["exceptions", "resolve", "99999", "--note", "Fixed the schedule"])

    assert status == 2
    assert "99999" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_credit_bad_line_argument_exits_two(capsys):
    with pytest.raises(SystemExit) as error:
        main(["credit", "ADE-000001", "--reason", "Wrong", "--line", "first=all"])

    assert error.value.code == 2
    assert "POSITION=QUANTITY" in capsys.readouterr().err


def test_missing_database_exits_two(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "BILLGUARD_DATABASE_URL"}
    env["BILLGUARD_VAR_DIR"] = str(tmp_path / "var")

    completed = subprocess.run(
        [sys.executable, "-m", "billguard.cli.main", "run", "--period", "2026-11"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 2
    assert "does not exist" in completed.stderr
    assert "billguard migrate" in completed.stderr
    assert not (tmp_path / "var" / "billguard.sqlite3").exists()


@pytest.mark.django_db(transaction=True)
def test_run_json_folder_exits_two_before_issuing(capsys, tmp_path):
    make_contract()

    with pytest.raises(SystemExit) as error:
        main(["run", "--period", "2026-11", "--json", str(tmp_path)])

    assert error.value.code == 2
    assert "is a folder" in capsys.readouterr().err
    assert Invoice.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_run_json_missing_folder_exits_two(capsys, tmp_path):
    make_contract()

    with pytest.raises(SystemExit) as error:
        main(["run", "--period", "2026-11", "--json", str(tmp_path / "no" / "report.json")])

    assert error.value.code == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()
    assert Invoice.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_credit_repeated_line_exits_two(capsys, sample_users):
    make_contract()
    main(["run", "--period", "2026-11"])
    capsys.readouterr()

    status = main(
        ["credit", "ADE-000001", "--reason", "Wrong", "--line", "1=0.5", "--line", "1=0.5"]
    )

    assert status == 2
    assert "more than once" in capsys.readouterr().err
    assert Invoice.objects.filter(document_type="credit_note").count() == 0


def test_credit_zero_quantity_names_the_rule(capsys):
    with pytest.raises(SystemExit):
        main(["credit", "ADE-000001", "--reason", "Wrong", "--line", "1=0"])

    assert "more than zero" in capsys.readouterr().err


def test_unusable_database_url_exits_two(tmp_path):
    env = dict(os.environ)
    env["BILLGUARD_DATABASE_URL"] = "nosuchdb://host/name"

    completed = subprocess.run(
        [sys.executable, "-m", "billguard.cli.main", "exceptions"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 2
    assert "BILLGUARD_DATABASE_URL" in completed.stderr
    assert "Traceback" not in completed.stderr


def make_user(username: str, role: str) -> None:
    from django.contrib.auth.models import User

    from billguard.controls.roles import roles_install

    groups = {group.name: group for group in roles_install()}
    User.objects.create_user(username=username).groups.add(groups[role])


@pytest.mark.django_db
def test_contracts_activate_prints_each_problem(capsys):
    make_user("fin.clerk", "finance")
    make_contract(draft=True, sow_document_id=None, escalation_contact="")

    status = main(["contracts", "activate", "C-1", "--user", "fin.clerk"])

    out = capsys.readouterr().out
    assert status == 1
    assert "contract C-1 stays a draft: 2 problem(s)" in out
    assert "MANDATORY_FIELD_EMPTY" in out
    assert "escalation contact" in out
    assert "SOW_MISSING" in out
    assert out.count("fix: ") == 2


@pytest.mark.django_db
def test_contracts_activate_activates(capsys):
    make_user("fin.clerk", "finance")
    make_contract(draft=True)

    status = main(["contracts", "activate", "C-1", "--user", "fin.clerk"])

    assert status == 0
    assert "contract C-1 is active since" in capsys.readouterr().out


@pytest.mark.django_db
def test_contracts_activate_user_from_environment(capsys, monkeypatch):
    make_user("fin.clerk", "finance")
    make_contract(draft=True)
    monkeypatch.setenv("BILLGUARD_USER", "fin.clerk")

    status = main(["contracts", "activate", "C-1"])

    assert status == 0
    from billguard.controls.models import AuditEntry

    assert AuditEntry.objects.get(action="contract.activate").actor == "fin.clerk"


@pytest.mark.django_db
def test_contracts_activate_unknown_user_exits_two(capsys):
    make_contract(draft=True)

    status = main(["contracts", "activate", "C-1", "--user", "nobody"])

    err = capsys.readouterr().err
    assert status == 2
    assert "user 'nobody' does not exist" in err


@pytest.mark.django_db
def test_contracts_activate_without_role_exits_two(capsys):
    make_user("sales.rep", "sales")
    make_contract(draft=True)

    status = main(["contracts", "activate", "C-1", "--user", "sales.rep"])

    assert status == 2
    assert "may not activate a contract" in capsys.readouterr().err


@pytest.mark.django_db
def test_contracts_show_bespoke_fields(capsys):
    from billguard.controls.templates import contract_template_set

    contract_template_set(contract_type="services", payment_terms_days=30)
    make_contract(draft=True, payment_terms_days=90)

    status = main(["contracts", "show", "C-1"])

    out = capsys.readouterr().out
    assert status == 0
    assert "contract C-1  services  draft" in out
    assert "bespoke: payment_terms_days" in out
    assert "template  30" in out
    assert "contract  90" in out
    assert "BESPOKE_NOT_APPROVED" in out


@pytest.mark.django_db
def test_contracts_show_unknown_contract_exits_two(capsys):
    status = main(["contracts", "show", "C-404"])

    assert status == 2
    assert "contract 'C-404' is not in the registry" in capsys.readouterr().err


@pytest.mark.django_db
def test_templates_lists_standard_terms(capsys):
    from billguard.controls.templates import contract_template_set

    contract_template_set(contract_type="services", cadence="monthly", liquidated_damages="None.")

    status = main(["templates"])

    out = capsys.readouterr().out
    assert status == 0
    assert "services  Standard services terms" in out
    assert "payment_terms_days  (no standard)" in out
    assert "cadence             monthly" in out
    assert "liquidated_damages  None." in out
