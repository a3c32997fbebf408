"""The ``billguard import`` commands, run as a user would."""

from __future__ import annotations

import pytest

from billguard.cli.main import EXIT_BAD_INPUT, EXIT_OK, main
from billguard.registry.models import Contract
from tests.acting_users import make_user
from tests.factories import make_seller
from tests.imports.exports import salesforce_rows, salesforce_zip

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def export(tmp_path):
    make_seller()
    make_user("fran", "finance")
    path = tmp_path / "export.zip"
    path.write_bytes(salesforce_zip(salesforce_rows()))
    return path


def test_salesforce_dry_run_then_import(export, capsys):
    assert main(["import", "salesforce", str(export), "--dry-run", "--user", "fran"]) == EXIT_OK
    assert "dry run, nothing written" in capsys.readouterr().out
    assert not Contract.objects.exists()

    assert main(["import", "salesforce", str(export), "--user", "fran"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "created 6" in out
    assert Contract.objects.filter(number="SF-00000100").exists()

    assert main(["import", "salesforce", str(export), "--user", "fran"]) == EXIT_OK
    assert "nothing changed" in capsys.readouterr().out

    assert main(["import", "runs"]) == EXIT_OK
    assert capsys.readouterr().out.count("salesforce") == 3


def test_bad_export_exits_2_with_every_problem(tmp_path, capsys):
    make_seller()
    make_user("fran", "finance")
    tables = salesforce_rows()
    tables["Contract.csv"][0]["StartDate"] = "soon"
    tables["OrderItem.csv"][0]["Quantity"] = "ten"
    path = tmp_path / "bad.zip"
    path.write_bytes(salesforce_zip(tables))

    assert main(["import", "salesforce", str(path), "--user", "fran"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "Contract.csv, row 2, column StartDate" in err
    assert "OrderItem.csv, row 2, column Quantity" in err


def test_mappings_save_list_show(capsys):
    make_user("fran", "finance")
    args = ["import", "mappings", "save", "erp-customers", "--target", "customers"]
    args += [
        "--column",
        "Kundennr=external_id",
        "--column",
        "Firma=name",
        "--column",
        "Land=country",
    ]
    assert main([*args, "--user", "fran"]) == EXIT_OK
    assert main(["import", "mappings", "list"]) == EXIT_OK
    assert "erp-customers" in capsys.readouterr().out
    assert main(["import", "mappings", "show", "erp-customers"]) == EXIT_OK
    assert "'Kundennr'" in capsys.readouterr().out
    assert main(["import", "mappings", "show", "nope"]) == EXIT_BAD_INPUT


def test_runs_show_lists_every_record(export, capsys):
    main(["import", "salesforce", str(export), "--dry-run", "--user", "fran"])
    capsys.readouterr()
    from billguard.imports.models import ImportRun

    run = ImportRun.objects.get()

    assert main(["import", "runs", str(run.pk)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "create          contract         SF-00000100" in out
    assert main(["import", "runs", "999"]) == EXIT_BAD_INPUT
