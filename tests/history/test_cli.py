"""The ``billguard history`` commands as a user runs them."""

from __future__ import annotations

import pytest

from billguard.cli.main import main
from billguard.history.models import ImportedInvoice
from tests.history.conftest import QUICKBOOKS_INVOICE_HEADER, Book, quickbooks_line, write_csv

pytestmark = pytest.mark.django_db


def test_import_then_again_then_list(tmp_path, capsys, book: Book, sample_users):
    path = write_csv(
        tmp_path / "invoices.csv",
        QUICKBOOKS_INVOICE_HEADER,
        [
            quickbooks_line("1001", "Northwind Traders GmbH"),
            quickbooks_line("1002", "Nobody Known Inc"),
        ],
    )

    assert main(["history", "import", "quickbooks", "--invoices", str(path), "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert "invoices: 2 read (2 lines); 2 new, 0 changed, 0 unchanged" in dry
    assert "dry run: nothing was written" in dry
    assert ImportedInvoice.objects.count() == 0

    assert main(["history", "import", "quickbooks", "--invoices", str(path)]) == 0
    first = capsys.readouterr().out
    assert "2 new" in first
    assert "customer not found (1; the field stays empty):" in first
    assert "1002 Nobody Known Inc: no customer is named or coded 'Nobody Known Inc'" in first

    assert main(["history", "import", "quickbooks", "--invoices", str(path)]) == 0
    second = capsys.readouterr().out
    assert "0 new, 0 changed, 2 unchanged" in second
    assert "nothing changed" in second

    assert main(["history", "list", "--customer", "CUST-A"]) == 0
    listed = capsys.readouterr().out
    assert "1001" in listed
    assert "C-1" in listed
    assert "1002" not in listed


def test_bad_file_exits_2_with_every_problem(tmp_path, capsys, book: Book, sample_users):
    path = write_csv(
        tmp_path / "invoices.csv",
        QUICKBOOKS_INVOICE_HEADER,
        [
            quickbooks_line("1", "Northwind Traders GmbH", date="31/31/2026"),
            quickbooks_line("2", "Northwind Traders GmbH", amount="abc"),
        ],
    )

    assert main(["history", "import", "quickbooks", "--invoices", str(path)]) == 2

    error = capsys.readouterr().err
    assert "2 problem(s), nothing was imported" in error
    assert "invoices.csv, row 2, column *InvoiceDate: '31/31/2026' is not a valid date." in error
    assert "invoices.csv, row 3, column *ItemAmount: 'abc' is not a number." in error
    assert ImportedInvoice.objects.count() == 0


def test_missing_file_exits_2(tmp_path, capsys, book: Book, sample_users):
    missing = tmp_path / "missing.csv"

    assert main(["history", "import", "quickbooks", "--payments", str(missing)]) == 2

    error = capsys.readouterr().err
    assert f"--payments: {missing} does not exist or is not a file." in error


def test_list_rejects_unknown_customer(capsys, book: Book, sample_users):
    assert main(["history", "list", "--customer", "Nobody"]) == 2
    assert "no imported invoice names the customer 'Nobody'" in capsys.readouterr().err
