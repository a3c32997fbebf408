"""The accounting mappings (roles, audit entries, imports) and the export commands as a user."""

import csv
import zipfile

import pytest

from billguard.cli.main import EXIT_BAD_INPUT, EXIT_OK, main
from billguard.controls.models import AuditEntry
from billguard.domain.errors import InvalidInput, NotAllowed, NotFound
from billguard.exports.mappings import mapping_set, mappings_import, mappings_list
from billguard.exports.models import AccountMapping, TaxMapping
from tests.exports.helpers import issue_november, map_everything
from tests.factories import make_gl_accounts

pytestmark = pytest.mark.django_db(transaction=True)


def test_mapping_set_needs_chart_role(sample_users):
    make_gl_accounts()

    with pytest.raises(NotAllowed):
        mapping_set(
            kind="account", key="4000", system="xero", target="200", by=sample_users["sam.sales"]
        )

    row, changed = mapping_set(
        kind="account", key="4000", system="xero", target="200", by=sample_users["fran.finance"]
    )
    assert changed
    assert row.target == "200"


def test_mapping_change_leaves_audit_entry(sample_users):
    make_gl_accounts()
    finance = sample_users["fran.finance"]

    mapping_set(kind="tax", key="s:19", system="xero", target="VAT 19", by=finance)
    mapping_set(kind="tax", key="S:19.0", system="xero", target="VAT on Income 19%", by=finance)
    _, changed = mapping_set(
        kind="tax", key="S:19", system="xero", target="VAT on Income 19%", by=finance
    )

    assert not changed
    entries = list(AuditEntry.objects.filter(action="accounting_mapping.set").order_by("sequence"))
    assert len(entries) == 2
    assert entries[0].actor == "fran.finance"
    assert entries[0].before is None
    assert entries[1].before["target"] == "VAT 19"
    assert entries[1].after["target"] == "VAT on Income 19%"
    assert TaxMapping.objects.get().treatment == "S:19"


def test_mapping_of_unknown_account_is_not_found():
    make_gl_accounts()

    with pytest.raises(NotFound) as error:
        mapping_set(kind="account", key="9999", system="xero", target="200")

    assert "9999" in str(error.value)


def test_import_is_all_or_nothing():
    make_gl_accounts()
    content = (
        "kind,key,system,target\n"
        "account,4000,xero,200\n"
        "tax,S:19,quickbooks,VAT 19%\n"
        "tax,Q:5,xero,Odd\n"
    )

    with pytest.raises(InvalidInput) as error:
        mappings_import(content=content, source="maps.csv")

    assert "maps.csv, row 4, key" in str(error.value)
    assert AccountMapping.objects.count() == 0
    assert TaxMapping.objects.count() == 0


def test_import_dry_run_and_repeat():
    make_gl_accounts()
    content = "kind,key,system,target\naccount,4000,xero,200\ntax,US-TX,xero,TX Sales Tax\n"

    dry = mappings_import(content=content, source="maps.csv", dry_run=True)
    assert (dry.created, AccountMapping.objects.count()) == (2, 0)

    first = mappings_import(content=content, source="maps.csv")
    again = mappings_import(content=content, source="maps.csv")

    assert (first.created, first.changed, first.unchanged) == (2, 0, 0)
    assert (again.created, again.changed, again.unchanged) == (0, 0, 2)
    assert [(r.kind, r.key) for r in mappings_list(system="xero")] == [
        ("account", "4000"),
        ("tax", "US-TX"),
    ]


def test_cli_journal_export_writes_balanced_file(tmp_path, capsys):
    issue_november()
    map_everything()
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "xero.csv"

    status = main(
        ["export", "journal", "--format", "xero", "--period", "2026-11", "-o", str(target)]
    )

    assert status == EXIT_OK
    assert "wrote 4 journal(s)" in capsys.readouterr().out
    with target.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sum(float(row["Amount"]) for row in rows) == pytest.approx(0)
    assert [p.name for p in folder.iterdir()] == ["xero.csv"]


def test_cli_unmapped_account_writes_nothing(tmp_path, capsys):
    issue_november()
    map_everything(skip=("4000",))
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "qbo.csv"

    status = main(
        ["export", "journal", "--format", "quickbooks", "--period", "2026-11", "-o", str(target)]
    )

    assert status == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert "GL account 4000 (Subscription revenue)" in error
    assert "billguard accounting-mappings add account 4000 --system quickbooks" in error
    assert list(folder.iterdir()) == []


def test_cli_export_keeps_old_file_on_failure(tmp_path, capsys):
    issue_november()
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "qbo.csv"
    target.write_text("previous export\n")

    status = main(
        ["export", "journal", "--format", "quickbooks", "--period", "2026-11", "-o", str(target)]
    )

    assert status == EXIT_BAD_INPUT
    assert target.read_text() == "previous export\n"
    assert [p.name for p in folder.iterdir()] == ["qbo.csv"]


def test_cli_unknown_seller_is_bad_input(tmp_path, capsys):
    issue_november()

    status = main(
        ["export", "ubl", "--period", "2026-11", "--seller", "nope", "-o", str(tmp_path / "u")]
    )

    assert status == EXIT_BAD_INPUT
    assert "seller entity 'nope' does not exist" in capsys.readouterr().err


def test_cli_ubl_and_findings_exports(tmp_path, capsys):
    issue_november()

    ubl_status = main(["export", "ubl", "--period", "2026-11", "-o", str(tmp_path / "u.zip")])
    findings_status = main(
        ["export", "findings", "--status", "issued", "-o", str(tmp_path / "f.csv")]
    )

    assert ubl_status == EXIT_OK
    assert findings_status == EXIT_OK
    with zipfile.ZipFile(tmp_path / "u.zip") as archive:
        assert len(archive.namelist()) == 4
    with (tmp_path / "f.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows
    assert {row["invoice_status"] for row in rows} == {"issued"}


def test_cli_mappings_commands(tmp_path, capsys, sample_users):
    make_gl_accounts()
    source = tmp_path / "maps.csv"
    source.write_text("kind,key,system,target\naccount,4000,xero,200\ntax,none,xero,Tax Exempt\n")

    assert main(["accounting-mappings", "import", str(source)]) == EXIT_OK
    assert main(["accounting-mappings", "add", "tax", "s:19", "--system", "xero",
                 "--target", "VAT on Income 19%"]) == EXIT_OK  # fmt: skip
    assert main(["export", "mappings", "-o", str(tmp_path / "out.csv")]) == EXIT_OK

    with (tmp_path / "out.csv").open(newline="") as handle:
        rows = [tuple(row.values()) for row in csv.DictReader(handle)]
    assert rows == [
        ("account", "4000", "xero", "200"),
        ("tax", "S:19", "xero", "VAT on Income 19%"),
        ("tax", "none", "xero", "Tax Exempt"),
    ]
    capsys.readouterr()
    assert main(["accounting-mappings", "list", "--kind", "tax"]) == EXIT_OK
    assert "VAT category S at 19 %" in capsys.readouterr().out


def test_cli_mappings_add_needs_user(capsys, monkeypatch):
    monkeypatch.delenv("BILLGUARD_USER", raising=False)
    make_gl_accounts()

    status = main(["accounting-mappings", "add", "account", "4000", "--system", "xero",
                   "--target", "200"])  # fmt: skip

    assert status == EXIT_BAD_INPUT
    assert AccountMapping.objects.count() == 0
