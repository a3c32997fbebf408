"""Importing vendor invoices from CSV and from the official EN 16931 UBL 2.1 examples."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from billguard.domain.errors import NotAllowed
from billguard.procurement.models import PurchaseOrder, VendorInvoice
from billguard.procurement.vendor_invoice_import import vendor_invoices_import
from billguard.procurement.vendor_invoice_input import VendorInvoiceInvalid
from billguard.procurement.vendor_invoices import vendor_invoice_check
from billguard.registry.models import Party, VendorBankAccount
from tests.acting_users import make_user
from tests.procurement.invoicing import OTHER_IBAN, VENDOR_IBAN, make_order, make_vendor

pytestmark = pytest.mark.django_db

D = Decimal
Status = VendorInvoice.Status

HEADER = (
    "vendor,purchase_order,invoice_number,issue_date,due_date,currency,payee_iban,"
    "net_total,tax_total,gross_total,order_line,description,quantity,unit_price,line_net"
)
GOOD_CSV = f"""{HEADER}
V-HOST,PO-1001,INV-501,2026-10-01,2026-10-31,EUR,{VENDOR_IBAN},1600.00,304.00,1904.00,1,Hosting,10,120.00,1200.00
V-HOST,,INV-501,,,,,,,,2,Backup,5,80.00,400.00
V-HOST,PO-1001,INV-502,2026-10-05,,EUR,{OTHER_IBAN},120.00,22.80,142.80,1,Hosting,1,120.00,120.00
"""


def import_csv(text: str, *, name: str = "october.csv", dry_run: bool = False, by=None):  # type: ignore[no-untyped-def]
    return vendor_invoices_import(content=text.encode(), source=name, dry_run=dry_run, by=by)


def problems_of(text: str) -> list[str]:
    with pytest.raises(VendorInvoiceInvalid) as raised:
        import_csv(text)
    assert VendorInvoice.objects.count() == 0
    return [str(problem) for problem in raised.value.problems]


# CSV ----------------------------------------------------------------------------------------


def test_csv_import_records_and_checks_each_invoice():
    make_order(make_vendor(), lines=(("20", "120.00"), ("5", "80.00")))
    recorder = make_user("pat.procurement", "procurement")

    outcome = import_csv(GOOD_CSV, by=recorder)

    assert outcome.file_format == "csv"
    assert [(item.number, item.status) for item in outcome.recorded] == [
        ("INV-501", Status.MATCHED),
        ("INV-502", Status.HELD),
    ]
    assert outcome.recorded[1].blocking_codes == ("VENDOR_BANK_ACCOUNT_MISMATCH",)
    first = VendorInvoice.objects.get(number="INV-501")
    assert first.source == "csv"
    assert first.source_file == "october.csv"
    assert first.source_row == 2
    assert first.recorded_by == "pat.procurement"
    assert first.lines.count() == 2
    assert first.source_sha256 == outcome.sha256


def test_csv_import_again_records_nothing_new():
    make_order(make_vendor(), lines=(("20", "120.00"), ("5", "80.00")))
    import_csv(GOOD_CSV)

    again = import_csv(GOOD_CSV, name="october-copy.csv")

    assert again.recorded == []
    assert again.already_imported
    assert again.skipped == [("V-HOST", "INV-501"), ("V-HOST", "INV-502")]
    assert VendorInvoice.objects.count() == 2


def test_changed_file_records_and_flags_duplicate():
    make_order(make_vendor(), lines=(("40", "120.00"), ("10", "80.00")))
    import_csv(GOOD_CSV)

    outcome = import_csv(GOOD_CSV.replace("Hosting,10", "Hosting capacity,10"))

    assert [item.number for item in outcome.recorded] == ["INV-501", "INV-502"]
    assert all("VENDOR_INVOICE_DUPLICATE_SUSPECTED" in i.blocking_codes for i in outcome.recorded)
    assert VendorInvoice.objects.count() == 4


def test_csv_dry_run_writes_nothing():
    make_order(make_vendor(), lines=(("20", "120.00"), ("5", "80.00")))

    outcome = import_csv(GOOD_CSV, dry_run=True)

    assert [item.status for item in outcome.recorded] == [Status.MATCHED, Status.HELD]
    assert all(item.invoice_id is None for item in outcome.recorded)
    assert VendorInvoice.objects.count() == 0


def test_bad_rows_all_reported():
    make_order(make_vendor(), lines=(("20", "120.00"), ("5", "80.00")))
    text = GOOD_CSV.replace("Backup,5,80.00", "Backup,five,80.00").replace(
        "INV-502,2026-10-05,,EUR,", "INV-502,2026-10-05,,EUR,"
    )
    text = text.replace(",1,Hosting,1,120.00,120.00", ",9,Hosting,1,120.00,120.00")

    problems = problems_of(text)

    assert len(problems) == 2
    assert problems[0].startswith("october.csv, row 3, column quantity: 'five' is not a number.")
    assert problems[1].startswith(
        "october.csv, row 4, column order_line: purchase order 'PO-1001' has no line 9"
    )


def test_unreadable_value_still_checks_lines():
    make_order(make_vendor(), lines=(("20", "120.00"), ("5", "80.00")))
    text = GOOD_CSV.replace("INV-501,2026-10-01", "INV-501,2026-13-01").replace(
        "Backup,5,80.00,400.00", "Backup,5,80.00,400.50"
    )

    problems = problems_of(text)

    assert len(problems) == 3
    assert problems[0].startswith("october.csv, row 2, column issue_date: '2026-13-01' is not")
    assert problems[1].startswith("october.csv, row 3, column line_net: the line net amount 400.50")
    assert problems[2].startswith("october.csv, row 2, column net_total: the net total 1600.00")


def test_line_total_error_names_row_and_column():
    make_order(make_vendor(), lines=(("20", "120.00"), ("5", "80.00")))

    problems = problems_of(GOOD_CSV.replace("120.00,120.00", "120.00,121.00"))

    assert any(
        p.startswith("october.csv, row 4, column line_net: the line net amount 121.00")
        for p in problems
    )


def test_conflicting_invoice_value_in_later_row():
    make_order(make_vendor(), lines=(("20", "120.00"), ("5", "80.00")))

    problems = problems_of(GOOD_CSV.replace("V-HOST,,INV-501,,,,", "V-HOST,,INV-501,,,USD,"))

    assert any(
        "row 3, column currency: 'USD' differs from 'EUR' in row 2" in problem
        for problem in problems
    )


def test_header_problems_are_listed():
    text = "vendor,invoice_no,quantity\nV-HOST,1,2\n"

    problems = problems_of(text)

    assert any("'invoice_no' is not a vendor invoice column" in p for p in problems)
    assert any("lacks the required columns purchase_order, invoice_number" in p for p in problems)


def test_semicolon_separated_csv():
    make_order(make_vendor(), lines=(("20", "120.00"), ("5", "80.00")))
    text = GOOD_CSV.replace(",", ";")

    outcome = import_csv(text)

    assert len(outcome.recorded) == 2


def test_import_needs_record_action():
    make_order(make_vendor(), lines=(("20", "120.00"), ("5", "80.00")))

    with pytest.raises(NotAllowed):
        import_csv(GOOD_CSV, by=make_user("audrey.auditor", "auditor"))

    assert VendorInvoice.objects.count() == 0


# UBL 2.1 --------------------------------------------------------------------------------------


def ubl_bytes(einvoice_examples: Path, name: str) -> bytes:
    return (einvoice_examples / name).read_bytes()


def seller_order(vendor: Party, number: str, lines: tuple[tuple[str, str], ...]) -> PurchaseOrder:
    return make_order(vendor, number, lines=lines, currency="DKK", ordered_on=dt.date(2013, 3, 1))


def test_ubl_import_finds_vendor_by_tax_id(einvoice_examples):
    # The TC434 worked example 5 has seller VAT NL16356706 and order PO4711. Lines 1 and 2
    # reference order lines and line 3 does not. Line 1 has an allowance and a charge of 100.00.
    vendor = make_vendor("V-SELCO", tax_id="NL16356706", country="NL", iban=None)
    seller_order(vendor, "PO4711", (("1000", "1.00"), ("100", "5.00"), ("500", "5.00")))

    outcome = vendor_invoices_import(
        content=ubl_bytes(einvoice_examples, "en16931-examples/ubl-tc434-example5.xml"),
        source="ubl-tc434-example5.xml",
        by=None,
    )

    assert outcome.file_format == "ubl"
    assert [(i.number, i.status) for i in outcome.recorded] == [("TOSL110", Status.MATCHED)]
    invoice = VendorInvoice.objects.get()
    assert invoice.vendor == vendor
    assert invoice.purchase_order.number == "PO4711"
    assert invoice.source == "ubl"
    assert (invoice.currency, invoice.net_amount, invoice.tax_amount) == ("DKK", D(4000), D(675))
    assert invoice.gross_amount == D("4675.00")
    assert invoice.due_date == dt.date(2013, 5, 10)
    lines = list(invoice.lines.order_by("line_number"))
    # Line 3 names no order line; the one order line left at its unit price is taken.
    assert [line.po_line.line_number if line.po_line else None for line in lines] == [1, 2, 3]
    assert [line.net_amount for line in lines] == [D(1000), D(500), D(2500)]


def test_ubl_import_again_records_nothing(einvoice_examples):
    vendor = make_vendor("V-SELCO", tax_id="NL 1635 6706", country="NL", iban=None)
    seller_order(vendor, "PO4711", (("1000", "1.00"), ("100", "5.00"), ("500", "5.00")))
    content = ubl_bytes(einvoice_examples, "en16931-examples/ubl-tc434-example5.xml")
    vendor_invoices_import(content=content, source="example5.xml", by=None)

    again = vendor_invoices_import(content=content, source="example5.xml", by=None)

    assert again.already_imported
    assert again.skipped == [("V-SELCO", "TOSL110")]
    assert VendorInvoice.objects.count() == 1


def test_ubl_vendor_by_party_identifier_and_payee_account(einvoice_examples):
    # Worked example 7: no seller VAT ID, party identifier 5532331183, order Order_9988_x,
    # payee account SE1212341234123412.
    vendor = make_vendor("5532331183", tax_id="", country="SE", iban=None)
    make_order(vendor, "Order_9988_x", lines=(("1", "2500.00"), ("1", "700.00")), currency="SEK")
    content = ubl_bytes(einvoice_examples, "en16931-examples/ubl-tc434-example7.xml")

    held = vendor_invoices_import(content=content, source="example7.xml", by=None)
    invoice = VendorInvoice.objects.get()
    VendorBankAccount.objects.create(party=vendor, iban="SE12 1234 1234 1234 12")
    recheck = vendor_invoice_check(invoice)

    assert held.recorded[0].status == Status.HELD
    assert held.recorded[0].blocking_codes == ("VENDOR_BANK_ACCOUNT_MISMATCH",)
    assert recheck.invoice.status == Status.MATCHED
    assert invoice.payee_iban == "SE1212341234123412"
    assert invoice.lines.get(line_number=1).po_line.line_number == 1
    # Line 2 names no order line; order line 2 is the only one at its unit price.
    assert invoice.lines.get(line_number=2).po_line.line_number == 2


def test_ubl_unknown_seller_is_named(einvoice_examples):
    content = ubl_bytes(einvoice_examples, "en16931-examples/ubl-tc434-example4.xml")

    with pytest.raises(VendorInvoiceInvalid) as raised:
        vendor_invoices_import(content=content, source="example4.xml", by=None)

    text = str(raised.value)
    assert "no vendor has the seller's tax ID 'DK16356706' (BT-31)" in text
    assert "party identifier '5790000436101' (BT-29)" in text
    assert "example4.xml, cac:AccountingSupplierParty" in text
    assert VendorInvoice.objects.count() == 0


def test_ubl_order_line_reference_must_be_line_number(einvoice_examples):
    # The maximum-content test file references order line "20080117/JM".
    vendor = make_vendor("V-MAX", tax_id="SE123456789001", country="SE", iban=None)
    make_order(vendor, "20180117", lines=(("500", "20"), ("10000", "0")), currency="SEK")
    content = ubl_bytes(einvoice_examples, "en16931-testfiles/Invoice-Max_content.xml")

    with pytest.raises(VendorInvoiceInvalid) as raised:
        vendor_invoices_import(content=content, source="max.xml", by=None)

    problem = str(raised.value.problems[0])
    assert "the order line reference '20080117/JM' is not a purchase order line number" in problem
    assert "cac:OrderLineReference/cbc:LineID" in problem
    assert VendorInvoice.objects.count() == 0


def test_ubl_wrong_order_is_named(einvoice_examples):
    vendor = make_vendor("V-SELCO", tax_id="NL16356706", country="NL", iban=None)
    seller_order(vendor, "PO-OTHER", (("1000", "1.00"),))
    content = ubl_bytes(einvoice_examples, "en16931-examples/ubl-tc434-example5.xml")

    with pytest.raises(VendorInvoiceInvalid) as raised:
        vendor_invoices_import(content=content, source="example5.xml", by=None)

    assert (
        "example5.xml, cac:OrderReference/cbc:ID (BT-13): purchase order 'PO4711' was not found"
        in str(raised.value)
    )


def test_ubl_credit_note_is_refused(einvoice_examples):
    make_vendor("V-MIN", tax_id="SE123451234501", country="SE", iban=None)
    content = ubl_bytes(einvoice_examples, "en16931-testfiles/CreditNote-Min_content_with_VAT.xml")

    with pytest.raises(VendorInvoiceInvalid) as raised:
        vendor_invoices_import(content=content, source="credit.xml", by=None)

    assert "is a credit note, not an invoice" in str(raised.value)


def test_ubl_seller_of_merged_vendors_is_survivor(einvoice_examples):
    survivor = make_vendor("V-SELCO", tax_id="NL16356706", country="NL", iban=None)
    make_vendor("V-SELCO-OLD", tax_id="NL16356706", country="NL", iban=None)
    Party.objects.filter(code="V-SELCO-OLD").update(merged_into=survivor)
    seller_order(survivor, "PO4711", (("1000", "1.00"), ("100", "5.00"), ("500", "5.00")))
    content = ubl_bytes(einvoice_examples, "en16931-examples/ubl-tc434-example5.xml")

    outcome = vendor_invoices_import(content=content, source="example5.xml", by=None)

    assert outcome.recorded[0].vendor == "V-SELCO"


def test_ubl_seller_matching_two_vendors_is_ambiguous(einvoice_examples):
    make_vendor("V-SELCO", tax_id="NL16356706", country="NL", iban=None)
    make_vendor("V-SELCO-2", tax_id="NL16356706", country="NL", iban=None)
    content = ubl_bytes(einvoice_examples, "en16931-examples/ubl-tc434-example5.xml")

    with pytest.raises(VendorInvoiceInvalid) as raised:
        vendor_invoices_import(content=content, source="example5.xml", by=None)

    assert "several vendors (V-SELCO, V-SELCO-2) have the seller's tax ID" in str(raised.value)
