"""The ``billguard vendor-invoices`` commands and the procurement part of the exception queue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from billguard.cli.main import EXIT_BAD_INPUT, EXIT_BLOCKED, EXIT_OK, main
from billguard.procurement.models import PurchaseOrder, VendorInvoice
from billguard.registry.models import VendorBankAccount
from tests.procurement.invoicing import OTHER_IBAN, VENDOR_IBAN, make_order, make_vendor

pytestmark = pytest.mark.django_db(transaction=True)

Status = VendorInvoice.Status

INVOICE = {
    "vendor": "V-HOST",
    "purchase_order": "PO-1001",
    "invoice_number": "INV-000123",
    "issue_date": "2026-10-01",
    "due_date": "2026-10-31",
    "currency": "EUR",
    "payee_iban": VENDOR_IBAN,
    "net_total": "1600.00",
    "tax_total": 304.00,
    "gross_total": "1904.00",
    "lines": [
        {"order_line": 1, "quantity": 10, "unit_price": "120.00", "line_net": "1200.00"},
        {"order_line": 2, "quantity": "5", "unit_price": "80.00", "line_net": "400.00"},
    ],
}
CSV = (
    "vendor,purchase_order,invoice_number,issue_date,currency,payee_iban,net_total,tax_total,"
    "gross_total,order_line,quantity,unit_price,line_net\n"
    f"V-HOST,PO-1001,INV-9,2026-10-03,EUR,{OTHER_IBAN},120.00,22.80,142.80,1,1,120.00,120.00\n"
)


@pytest.fixture
def order(sample_users):  # type: ignore[no-untyped-def]
    return make_order(make_vendor(), lines=(("20", "120.00"), ("10", "80.00")))


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def record(tmp_path: Path, invoice: dict[str, object], user: str = "pat.procurement") -> int:
    path = write(tmp_path, "invoice.json", json.dumps(invoice))
    return main(["vendor-invoices", "record", "--file", str(path), "--user", user])


def test_record_matched_invoice(tmp_path, order, capsys):
    status = record(tmp_path, INVOICE)

    out = capsys.readouterr().out
    assert status == EXIT_OK
    assert "INV-000123 of V-HOST, 1904.00 EUR, matched, ready to pay" in out
    assert VendorInvoice.objects.get().status == Status.MATCHED


def test_record_held_invoice_exits_1(tmp_path, order, capsys):
    status = record(tmp_path, {**INVOICE, "payee_iban": OTHER_IBAN})

    out = capsys.readouterr().out
    assert status == EXIT_BLOCKED
    assert "VENDOR_BANK_ACCOUNT_MISMATCH (block)" in out
    assert "billguard vendor-invoices approve" in out


def test_record_bad_json_value_exits_2(tmp_path, order, capsys):
    invoice = {**INVOICE, "lines": [{"order_line": 1, "quantity": "ten"}]}

    status = record(tmp_path, invoice)

    err = capsys.readouterr().err
    assert status == EXIT_BAD_INPUT
    assert "invoice.json, lines[1].quantity: 'ten' is not a number." in err
    assert "invoice.json, lines[1].unit_price: unit_price is empty" in err
    assert VendorInvoice.objects.count() == 0


def test_record_needs_user(tmp_path, order, capsys, monkeypatch):
    monkeypatch.delenv("BILLGUARD_USER")
    path = write(tmp_path, "invoice.json", json.dumps(INVOICE))

    status = main(["vendor-invoices", "record", "--file", str(path)])

    assert status == EXIT_BAD_INPUT
    assert "needs the acting user" in capsys.readouterr().err


def test_import_dry_run_then_import_then_again(tmp_path, order, capsys, monkeypatch):
    monkeypatch.delenv("BILLGUARD_USER")
    path = write(tmp_path, "october.csv", CSV)

    dry = main(["vendor-invoices", "import", str(path), "--dry-run"])
    dry_out = capsys.readouterr().out
    first = main(["vendor-invoices", "import", str(path), "--user", "pat.procurement"])
    first_out = capsys.readouterr().out
    again = main(["vendor-invoices", "import", str(path), "--user", "pat.procurement"])
    again_out = capsys.readouterr().out

    assert dry == EXIT_BLOCKED
    assert "dry run, nothing recorded: 1 vendor invoice from october.csv (CSV)" in dry_out
    assert first == EXIT_BLOCKED
    assert "0 matched, 1 held" in first_out
    assert again == EXIT_OK
    assert "october.csv was imported before" in again_out
    assert "nothing new recorded, 1 invoice already there" in again_out
    assert VendorInvoice.objects.count() == 1


def test_import_bad_file_lists_rows(tmp_path, order, capsys):
    bad = CSV.replace(",1,1,120.00,120.00", ",1,1,120.00,12O.00")
    path = write(tmp_path, "bad.csv", bad)

    status = main(["vendor-invoices", "import", str(path), "--user", "pat.procurement"])

    err = capsys.readouterr().err
    assert status == EXIT_BAD_INPUT
    assert "nothing was recorded" in err
    assert "bad.csv, row 2, column line_net: '12O.00' is not a number." in err


def test_import_missing_file_exits_2(tmp_path, order, capsys):
    status = main(
        ["vendor-invoices", "import", str(tmp_path / "nope.csv"), "--user", "fran.finance"]
    )

    assert status == EXIT_BAD_INPUT
    assert "could not be read" in capsys.readouterr().err


def test_list_show_and_payable(tmp_path, order, capsys):
    record(tmp_path, INVOICE)
    record(tmp_path, {**INVOICE, "invoice_number": "INV-2", "payee_iban": OTHER_IBAN,
                      "issue_date": "2026-05-01", "due_date": None})  # fmt: skip
    held = VendorInvoice.objects.get(number="INV-2")
    capsys.readouterr()

    main(["vendor-invoices", "list", "--status", "held"])
    listed = capsys.readouterr().out
    main(["vendor-invoices", "show", str(held.pk)])
    shown = capsys.readouterr().out
    main(["vendor-invoices", "payable"])
    payable = capsys.readouterr().out

    assert "INV-2" in listed
    assert "INV-000123" not in listed
    assert "VENDOR_BANK_ACCOUNT_MISMATCH" in listed
    assert "held by a blocking finding" in shown
    assert "order line 1" in shown
    assert f"actual {OTHER_IBAN}" in shown
    assert "INV-000123" in payable
    assert "INV-2" not in payable
    assert "1 payable vendor invoice: 1904.00 EUR" in payable


def test_approve_by_other_approver(tmp_path, order, capsys):
    record(tmp_path, {**INVOICE, "payee_iban": OTHER_IBAN})
    invoice = VendorInvoice.objects.get()

    refused = main(["vendor-invoices", "approve", str(invoice.pk), "--reason", "ok",
                    "--user", "fran.finance"])  # fmt: skip
    approved = main(["vendor-invoices", "approve", str(invoice.pk), "--reason",
                     "New account confirmed by phone", "--user", "alex.approver"])  # fmt: skip

    out = capsys.readouterr()
    assert refused == EXIT_BAD_INPUT
    assert "fran.finance (finance) may not approve or reject" in out.err
    assert approved == EXIT_OK
    assert "it is payable" in out.out
    assert VendorInvoice.objects.get().status == Status.APPROVED


def test_reject_and_recheck(tmp_path, order, capsys):
    record(tmp_path, {**INVOICE, "payee_iban": OTHER_IBAN})
    invoice = VendorInvoice.objects.get()

    still_held = main(["vendor-invoices", "recheck", str(invoice.pk), "--user", "fran.finance"])
    rejected = main(["vendor-invoices", "reject", str(invoice.pk), "--reason", "Fraud attempt",
                     "--user", "alex.approver"])  # fmt: skip
    again = main(["vendor-invoices", "recheck", str(invoice.pk), "--user", "fran.finance"])

    err = capsys.readouterr().err
    assert still_held == EXIT_BLOCKED
    assert rejected == EXIT_OK
    assert again == EXIT_BAD_INPUT
    assert "is already rejected: alex.approver rejected it on " in err
    assert "cannot be checked again" in err


def test_exceptions_list_shows_procurement(tmp_path, order, capsys):
    record(tmp_path, {**INVOICE, "payee_iban": OTHER_IBAN})
    held_order = make_order(order.vendor, "PO-HELD", lines=(("2", "10.00"),))
    PurchaseOrder.objects.filter(pk=held_order.pk).update(status=PurchaseOrder.Status.HELD)
    capsys.readouterr()

    status = main(["exceptions", "list"])

    out = capsys.readouterr().out
    assert status == EXIT_BLOCKED
    assert "procurement" in out
    invoice_row = next(line for line in out.splitlines() if "vendor invoice" in line)
    assert "INV-000123" in invoice_row
    assert "VENDOR_BANK_ACCOUNT_MISMATCH" in invoice_row
    order_row = next(line for line in out.splitlines() if "purchase order " in line)
    assert "PO-HELD" in order_row
    assert "20.00 EUR" in order_row
    assert "1 vendor invoice and 1 purchase order held" in out
    assert "billguard purchase-orders approve-held NUMBER --reason TEXT" in out
    assert "billguard purchase-orders recheck NUMBER" in out


def test_exceptions_empty_queue(sample_users, capsys):
    status = main(["exceptions"])

    assert status == EXIT_OK
    assert "the exception queue is empty" in capsys.readouterr().out


def test_import_ubl_file_by_content(sample_users, einvoice_examples, tmp_path, capsys):
    vendor = make_vendor("V-SELCO", tax_id="NL16356706", country="NL", iban=None)
    make_order(
        vendor, "PO4711", lines=(("1000", "1.00"), ("100", "5.00"), ("500", "5.00")), currency="DKK"
    )
    # The extension is ignored: the content shows that the file is UBL.
    path = tmp_path / "from-selco.dat"
    path.write_bytes((einvoice_examples / "en16931-examples/ubl-tc434-example5.xml").read_bytes())

    status = main(["vendor-invoices", "import", str(path), "--user", "pat.procurement"])

    out = capsys.readouterr().out
    assert status == EXIT_OK
    assert "1 vendor invoice from from-selco.dat (UBL): 1 matched, 0 held" in out
    assert "TOSL110" in out
    assert VendorInvoice.objects.get().source == "ubl"


def test_recheck_held_after_account_approved(tmp_path, order, capsys):
    record(tmp_path, {**INVOICE, "payee_iban": OTHER_IBAN})
    before = main(["vendor-invoices", "recheck", "--held", "--user", "fran.finance"])
    VendorBankAccount.objects.create(party=order.vendor, iban=OTHER_IBAN, is_primary=False)
    capsys.readouterr()

    after = main(["vendor-invoices", "recheck", "--held", "--user", "fran.finance"])

    out = capsys.readouterr().out
    assert before == EXIT_BLOCKED
    assert after == EXIT_OK
    assert "1 held vendor invoice checked again: 1 matched, 0 still held" in out


def test_list_unknown_vendor_is_refused(tmp_path, order, capsys):
    record(tmp_path, INVOICE)

    code = main(["vendor-invoices", "list", "--vendor", "VEND-099"])

    captured = capsys.readouterr()
    assert code == EXIT_BAD_INPUT
    assert "--vendor" in captured.err
    assert "vendor 'VEND-099' was not found" in captured.err
    assert "no vendor invoices" not in captured.out


def test_list_known_vendor_without_invoices(order, capsys):
    make_vendor("V-IDLE")

    code = main(["vendor-invoices", "list", "--vendor", "V-IDLE"])

    assert code == EXIT_OK
    assert "no vendor invoices" in capsys.readouterr().out
