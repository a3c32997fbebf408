"""vendor_invoice_record: validation of every value, storage, the signal and the first check."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from billguard.controls.models import AuditEntry
from billguard.domain.errors import NotAllowed
from billguard.procurement.models import ProcurementFinding, VendorInvoice, VendorInvoiceLine
from billguard.procurement.signals import vendor_invoice_recorded
from billguard.procurement.vendor_invoices import (
    VendorInvoiceInvalid,
    VendorInvoiceLineInput,
    normalize_invoice_number,
    vendor_invoice_record,
)
from billguard.registry.models import Party
from tests.acting_users import make_user
from tests.factories import make_seller
from tests.procurement.invoicing import (
    VENDOR_IBAN,
    invoice_input,
    make_order,
    make_vendor,
    one_line_input,
)

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.mark.parametrize(
    ("number", "normalized"),
    [
        ("inv-000123", "INV123"),
        ("INV 123", "INV123"),
        ("Inv.0123", "INV123"),
        ("INV123", "INV123"),
        ("2026/0001", "20261"),
        ("A-000", "A0"),
        ("rg 07-0042", "RG742"),
        ("Faktura Nr. 12", "FAKTURANR12"),
    ],
)
def test_normalize_invoice_number(number, normalized):
    assert normalize_invoice_number(number) == normalized


def test_normalize_keeps_distinct_numbers_apart():
    assert normalize_invoice_number("INV-123") != normalize_invoice_number("INV-1230")
    assert normalize_invoice_number("A-1") != normalize_invoice_number("B-1")


def test_record_stores_invoice_and_lines():
    vendor = make_vendor()
    order = make_order(vendor)
    recorder = make_user("pat.procurement", "procurement")

    invoice = vendor_invoice_record(invoice_input(number="inv-000123"), by=recorder)

    stored = VendorInvoice.objects.get(pk=invoice.pk)
    assert stored.vendor == vendor
    assert stored.purchase_order == order
    assert stored.seller_entity == order.seller_entity
    assert stored.number == "inv-000123"
    assert stored.normalized_number == "INV123"
    assert stored.gross_amount == D("1904.00")
    assert stored.payee_iban == VENDOR_IBAN
    assert stored.recorded_by == "pat.procurement"
    lines = list(VendorInvoiceLine.objects.filter(invoice=stored).order_by("line_number"))
    assert [(line.line_number, line.po_line.line_number) for line in lines] == [(1, 1), (2, 2)]
    assert [line.net_amount for line in lines] == [D("1200.00"), D("400.00")]


def test_clean_invoice_is_matched_with_audit_entries():
    make_order(make_vendor())

    invoice = vendor_invoice_record(invoice_input(), by=None)

    assert invoice.status == VendorInvoice.Status.MATCHED
    assert not ProcurementFinding.objects.filter(vendor_invoice=invoice).exists()
    actions = list(
        AuditEntry.objects.filter(
            record_id=str(invoice.pk), record_type="procurement.vendorinvoice"
        )
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == ["vendor_invoice.record", "vendor_invoice.check"]


def test_record_sends_signal_with_lines_saved():
    make_order(make_vendor())
    received: list[tuple[int, int]] = []

    def receiver(sender, invoice, by, **kwargs):  # type: ignore[no-untyped-def]
        received.append((invoice.pk, invoice.lines.count()))

    vendor_invoice_recorded.connect(receiver, dispatch_uid="test-vendor-invoice")
    try:
        invoice = vendor_invoice_record(invoice_input(), by=None)
    finally:
        vendor_invoice_recorded.disconnect(dispatch_uid="test-vendor-invoice")

    assert received == [(invoice.pk, 2)]


def test_receiver_error_rolls_back_record():
    make_order(make_vendor())

    def receiver(sender, invoice, by, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("cost tracking failed")

    vendor_invoice_recorded.connect(receiver, dispatch_uid="test-vendor-invoice-fails")
    try:
        with pytest.raises(RuntimeError):
            vendor_invoice_record(invoice_input(), by=None)
    finally:
        vendor_invoice_recorded.disconnect(dispatch_uid="test-vendor-invoice-fails")

    assert VendorInvoice.objects.count() == 0


def test_record_needs_record_action():
    make_order(make_vendor())
    sales = make_user("sam.sales", "sales")

    with pytest.raises(NotAllowed):
        vendor_invoice_record(invoice_input(), by=sales)

    assert VendorInvoice.objects.count() == 0


def problems_of(entry) -> list[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(VendorInvoiceInvalid) as raised:
        vendor_invoice_record(entry, by=None)
    assert VendorInvoice.objects.count() == 0
    return [str(problem) for problem in raised.value.problems]


def test_unknown_vendor_is_named():
    make_order(make_vendor())

    problems = problems_of(invoice_input(vendor="V-NOPE"))

    assert any("vendor 'V-NOPE' was not found" in problem for problem in problems)


def test_customer_is_not_a_vendor():
    make_order(make_vendor())
    Party.objects.create(code="CUST-1", kind=Party.Kind.CUSTOMER, name="Customer", country="DE")

    problems = problems_of(invoice_input(vendor="CUST-1"))

    assert any("'CUST-1' is a customer, not a vendor" in problem for problem in problems)


def test_merged_vendor_names_survivor():
    survivor = make_vendor()
    make_order(survivor)
    make_vendor("V-OLD", tax_id="DE136695976")
    Party.objects.filter(code="V-OLD").update(merged_into=survivor)

    problems = problems_of(invoice_input(vendor="V-OLD"))

    assert any("merged into 'V-HOST'" in problem for problem in problems)


def test_order_of_other_vendor_is_refused():
    make_order(make_vendor())
    make_order(make_vendor("V-OTHER", tax_id="DE136695976"), "PO-2002")

    problems = problems_of(invoice_input(order="PO-2002"))

    assert any("'PO-2002' is to vendor 'V-OTHER', not to 'V-HOST'" in p for p in problems)


def test_unknown_order_and_order_line_are_named():
    make_order(make_vendor())

    assert any("'PO-9999' was not found" in p for p in problems_of(invoice_input(order="PO-9999")))
    problems = problems_of(one_line_input(quantity="1", unit_price="120.00", order_line=7))
    assert any("has no line 7 (its lines: 1, 2)" in problem for problem in problems)


def test_seller_entity_must_have_placed_order():
    make_order(make_vendor())
    make_seller("acme-us")

    problems = problems_of(invoice_input(seller_entity="acme-us"))
    missing = problems_of(invoice_input(seller_entity="acme-fr"))

    assert any("was placed by 'acme-de'" in problem for problem in problems)
    assert any("seller entity 'acme-fr' was not found" in problem for problem in missing)


def test_currency_must_be_iso_4217():
    make_order(make_vendor())

    problems = problems_of(invoice_input(currency="EURO"))

    assert any("'EURO' is not an ISO 4217 currency code" in problem for problem in problems)


def test_line_net_must_be_quantity_times_price():
    make_order(make_vendor())
    entry = invoice_input()
    wrong = dataclasses.replace(entry.lines[0], net_amount=D("1200.01"))
    entry = dataclasses.replace(entry, lines=[wrong, entry.lines[1]])

    problems = problems_of(entry)

    assert any(
        "line net amount 1200.01 is not quantity 10 times unit price 120.00" in problem
        for problem in problems
    )


def test_totals_must_add_up():
    make_order(make_vendor())

    net_problems = problems_of(invoice_input(net_amount=D("1500.00"), gross_amount=D("1804.00")))
    gross_problems = problems_of(invoice_input(gross_amount=D("1904.01")))

    assert any(
        "net total 1500.00 is not 1600.00 EUR, the sum of the line" in p for p in net_problems
    )
    assert any("is not net 1600.00 plus tax 304.00" in p for p in gross_problems)


def test_amount_with_too_many_decimals():
    make_order(make_vendor())

    problems = problems_of(invoice_input(tax_amount=D("304.001"), gross_amount=D("1904.001")))

    assert any("more than 2 decimals, the minor unit of EUR" in p for p in problems)


def test_dates_are_checked():
    make_order(make_vendor())
    tomorrow = timezone.localdate() + dt.timedelta(days=1)

    future = problems_of(invoice_input(issue_date=tomorrow, due_date=None))
    early_due = problems_of(invoice_input(due_date=dt.date(2026, 9, 30)))

    assert any("is in the future" in problem for problem in future)
    assert any("due date 2026-09-30 is before the issue date 2026-10-01" in p for p in early_due)


def test_invalid_iban_check_digits():
    make_order(make_vendor())

    problems = problems_of(invoice_input(payee_iban="DE44 5001 0517 5407 3249 32"))

    assert any("wrong check digits (ISO 13616)" in problem for problem in problems)


def test_every_problem_is_reported_at_once():
    make_order(make_vendor())
    entry = invoice_input(number="  ", currency="XXX", payee_iban="not an iban!")
    bad_line = VendorInvoiceLineInput(
        line_number=1, order_line=1, quantity=D("0"), unit_price=D("-1"), net_amount=D("0")
    )
    entry = dataclasses.replace(entry, lines=[bad_line])

    problems = problems_of(entry)

    text = "\n".join(problems)
    assert "invoice number is empty" in text
    assert "'XXX' is not an ISO 4217 currency code" in text
    assert "not an IBAN or account number" in text
    assert "quantity 0 is not more than zero" in text
    assert "unit price -1 is negative" in text


def test_problem_names_file_row_and_column():
    make_order(make_vendor())
    entry = dataclasses.replace(
        invoice_input(vendor="V-NOPE"),
        source_file="march.csv",
        source_row=4,
        columns={"vendor": "column vendor"},
    )

    problems = problems_of(entry)

    assert problems[0].startswith("march.csv, row 4, column vendor: vendor 'V-NOPE' was not")
    assert "Give the party code of an existing vendor" in problems[0]


def test_price_base_quantity_and_allowances():
    make_order(make_vendor(), lines=(("100", "1.25"),))
    line = VendorInvoiceLineInput(
        line_number=1,
        order_line=1,
        quantity=D("100"),
        unit_price=D("12.50"),
        price_base_quantity=D("10"),
        allowances=D("5.00"),
        net_amount=D("120.00"),
    )
    entry = invoice_input(
        lines=[line], net_amount=D("120.00"), tax_amount=D("0"), gross_amount=D("120.00")
    )

    invoice = vendor_invoice_record(entry, by=None)

    assert invoice.lines.get().unit_price == D("1.25")
