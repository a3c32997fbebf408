"""Credit notes that reverse an invoice in full or in part."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billguard.domain.credit import credit_note_for
from billguard.domain.currencies import minor_units
from billguard.domain.errors import InvalidInput, RuleViolation
from billguard.domain.invoice import (
    Address,
    AllowanceCharge,
    DocumentType,
    InvoiceDocument,
    InvoiceLine,
    PartyInfo,
    TaxSubtotal,
    Totals,
)
from billguard.domain.tax import build_document_totals, line_net_amount

# derandomize=True makes Hypothesis generate the same examples on every run.
DETERMINISTIC = settings(derandomize=True, deadline=None, max_examples=200)

D = Decimal

TAX_GROUPS = [("S", "19"), ("S", "7"), ("S", "8.875"), ("Z", "0"), ("E", "0"), ("AE", "0")]


def zero_totals() -> Totals:
    return Totals(
        line_extension=D(0),
        allowance_total=D(0),
        charge_total=D(0),
        tax_exclusive=D(0),
        tax_total=D(0),
        tax_inclusive=D(0),
        prepaid=D(0),
        rounding=D(0),
        payable=D(0),
    )


def make_line(
    line_id: str,
    quantity: str,
    unit_price: str,
    category: str = "S",
    rate: str | None = "19",
    *,
    allowances_charges: list[AllowanceCharge] | None = None,
    currency: str = "EUR",
) -> InvoiceLine:
    line_allowances_charges = allowances_charges or []
    net = line_net_amount(D(quantity), D(unit_price), D(1), line_allowances_charges, currency)
    return InvoiceLine(
        line_id=line_id,
        description=f"service {line_id}",
        quantity=D(quantity),
        unit_code="C62",
        unit_price=D(unit_price),
        net_amount=net,
        tax_category=category,
        tax_rate=None if rate is None else D(rate),
        allowances_charges=line_allowances_charges,
    )


def make_invoice(
    lines: list[InvoiceLine],
    allowances_charges: list[AllowanceCharge] | None = None,
    *,
    currency: str = "EUR",
    number: str = "INV-2026-0042",
) -> InvoiceDocument:
    invoice = InvoiceDocument(
        document_type=DocumentType.INVOICE,
        number=number,
        issue_date=dt.date(2026, 11, 1),
        currency=currency,
        seller=PartyInfo(name="Seller GmbH", tax_id="DE123456789"),
        buyer=PartyInfo(name="Buyer SA", address=Address(city="Lyon", country="FR")),
        lines=lines,
        tax_subtotals=[],
        totals=zero_totals(),
        allowances_charges=allowances_charges or [],
        due_date=dt.date(2026, 12, 1),
        order_reference="PO-77",
        contract_reference="C-12",
        period_start=dt.date(2026, 11, 1),
        period_end=dt.date(2026, 11, 30),
    )
    invoice.tax_subtotals, invoice.totals = build_document_totals(invoice)
    return invoice


def document_allowance(amount: str, category: str = "S", rate: str = "19") -> AllowanceCharge:
    return AllowanceCharge(
        is_charge=False,
        amount=D(amount),
        reason="Discount",
        tax_category=category,
        tax_rate=D(rate),
    )


def sample_invoice() -> InvoiceDocument:
    return make_invoice(
        [make_line("A", "10", "100.00"), make_line("B", "1", "500.00", "Z", "0")],
        [document_allowance("100.00")],
    )


# Full credit


def test_full_credit_reverses_invoice() -> None:
    invoice = sample_invoice()

    credit = credit_note_for(invoice, number="CN-2026-0001", issue_date=dt.date(2026, 11, 20))

    assert credit.document_type is DocumentType.CREDIT_NOTE
    assert credit.number == "CN-2026-0001"
    assert credit.issue_date == dt.date(2026, 11, 20)
    assert credit.preceding_invoice == "INV-2026-0042"
    assert credit.currency == "EUR"
    assert credit.seller == invoice.seller
    assert credit.buyer == invoice.buyer
    assert credit.contract_reference == "C-12"
    assert credit.order_reference == "PO-77"
    assert credit.period_start == invoice.period_start
    assert credit.due_date is None
    assert credit.lines == invoice.lines
    assert credit.allowances_charges == invoice.allowances_charges
    assert credit.tax_subtotals == invoice.tax_subtotals
    assert credit.totals == invoice.totals


def test_full_credit_amounts_are_positive() -> None:
    credit = credit_note_for(sample_invoice())

    assert credit.totals.payable == D("1571.00")  # 900.00 * 1.19 + 500.00
    assert all(line.quantity > 0 for line in credit.lines)


def test_full_credit_copies_instead_of_sharing() -> None:
    invoice = sample_invoice()

    credit = credit_note_for(invoice)
    credit.lines[0].quantity = D(99)
    credit.buyer.address.city = "Paris"

    assert invoice.lines[0].quantity == D(10)
    assert invoice.buyer.address.city == "Lyon"


def test_full_credit_is_a_draft_without_number() -> None:
    credit = credit_note_for(sample_invoice())

    assert credit.number == ""
    assert credit.issue_date is None


def test_full_credit_ignores_paid_amount() -> None:
    invoice = sample_invoice()
    invoice.totals.prepaid = D("100.00")

    credit = credit_note_for(invoice)

    assert credit.totals.prepaid == D("0.00")
    assert credit.totals.payable == credit.totals.tax_inclusive


# Partial credit


def test_partial_quantity_scales_document_allowance() -> None:
    invoice = sample_invoice()

    credit = credit_note_for(invoice, lines={"A": D(4)})

    assert [(line.line_id, line.quantity, line.net_amount) for line in credit.lines] == [
        ("A", D(4), D("400.00"))
    ]
    # The S 19 % allowance of 100.00 shrinks with the credited share 400 / 1000.
    assert [item.amount for item in credit.allowances_charges] == [D("40.00")]
    assert credit.tax_subtotals == [
        TaxSubtotal(category="S", rate=D("19"), taxable_amount=D("360.00"), tax_amount=D("68.40"))
    ]
    assert credit.totals.payable == D("428.40")


def test_partial_by_line_ids() -> None:
    credit = credit_note_for(sample_invoice(), lines=["B"])

    assert [line.line_id for line in credit.lines] == ["B"]
    # No S 19 % line is credited, so the S 19 % allowance is not either.
    assert credit.allowances_charges == []
    assert credit.totals.payable == D("500.00")


def test_partial_single_id_string() -> None:
    credit = credit_note_for(sample_invoice(), lines="B")

    assert [line.line_id for line in credit.lines] == ["B"]


def test_partial_scales_line_allowance() -> None:
    discount = AllowanceCharge(is_charge=False, amount=D("3.00"), base_amount=D("30.00"))
    invoice = make_invoice([make_line("A", "3", "10.00", allowances_charges=[discount])])

    credit = credit_note_for(invoice, lines={"A": D(1)})

    [credited] = credit.lines
    assert credited.allowances_charges[0].amount == D("1.00")
    assert credited.allowances_charges[0].base_amount == D("10.00")
    assert credited.net_amount == D("9.00")
    assert invoice.lines[0].allowances_charges[0].amount == D("3.00")


def test_partial_full_quantities_equal_full_credit() -> None:
    invoice = sample_invoice()

    partial = credit_note_for(invoice, lines={"A": D(10), "B": D(1)})
    full = credit_note_for(invoice)

    assert partial.tax_subtotals == full.tax_subtotals
    assert partial.totals == full.totals


def test_partial_explicit_allowances() -> None:
    invoice = sample_invoice()

    credit = credit_note_for(invoice, lines={"A": D(4)}, allowances_charges=[])

    assert credit.allowances_charges == []
    assert credit.totals.tax_exclusive == D("400.00")


def test_partial_rejects_unscalable_allowance() -> None:
    # The freight charge is in S 25 %, where the invoice has no line to scale it by.
    freight = AllowanceCharge(
        is_charge=True, amount=D("20.00"), reason="Freight", tax_category="S", tax_rate=D(25)
    )
    invoice = make_invoice([make_line("A", "2", "50.00")], [freight])

    with pytest.raises(InvalidInput) as error:
        credit_note_for(invoice, lines={"A": D(1)})

    assert "explicitly" in (error.value.fix or "")


def test_partial_of_every_line_in_full_keeps_allowances() -> None:
    freight = AllowanceCharge(
        is_charge=True, amount=D("20.00"), reason="Freight", tax_category="S", tax_rate=D(25)
    )
    invoice = make_invoice([make_line("A", "2", "50.00")], [freight])

    credit = credit_note_for(invoice, lines={"A": D(2)})

    assert credit.allowances_charges == [freight]
    assert credit.totals == invoice.totals


@pytest.mark.parametrize("quantity", [D(11), D(0), D(-1)])
def test_partial_rejects_quantity(quantity: Decimal) -> None:
    with pytest.raises(InvalidInput):
        credit_note_for(sample_invoice(), lines={"A": quantity})


def test_partial_negative_line_quantity() -> None:
    invoice = make_invoice([make_line("A", "2", "50.00"), make_line("R", "-4", "5.00")])

    credit = credit_note_for(invoice, lines={"R": D(-1)})

    assert credit.lines[0].net_amount == D("-5.00")
    with pytest.raises(InvalidInput):
        credit_note_for(invoice, lines={"R": D(1)})


def test_partial_rejects_unknown_line() -> None:
    with pytest.raises(InvalidInput) as error:
        credit_note_for(sample_invoice(), lines={"Z9": D(1)})

    assert error.value.value == ["Z9"]


def test_partial_rejects_empty_selection() -> None:
    with pytest.raises(InvalidInput):
        credit_note_for(sample_invoice(), lines=[])


def test_partial_rejects_ambiguous_line_ids() -> None:
    invoice = make_invoice([make_line("A", "1", "10.00"), make_line("A", "1", "20.00")])

    with pytest.raises(InvalidInput):
        credit_note_for(invoice, lines=["A"])


# Documents that cannot be credited


def test_credit_rejects_draft() -> None:
    draft = make_invoice([make_line("A", "1", "10.00")], number="")

    with pytest.raises(RuleViolation):
        credit_note_for(draft)


def test_credit_rejects_credit_note() -> None:
    credit = credit_note_for(sample_invoice(), number="CN-1")

    with pytest.raises(RuleViolation):
        credit_note_for(credit)


# Property: a full credit note reverses the invoice exactly, tax included.


@st.composite
def invoices(draw: st.DrawFn) -> InvoiceDocument:
    currency = draw(st.sampled_from(["EUR", "JPY", "BHD", "USD"]))
    decimals = minor_units(currency)
    minor_amounts = st.integers(min_value=0, max_value=10**7).map(
        lambda units: D(units).scaleb(-decimals)
    )

    lines = []
    for index in range(draw(st.integers(min_value=1, max_value=6))):
        category, rate = draw(st.sampled_from(TAX_GROUPS))
        quantity = draw(st.decimals(min_value=D("0.01"), max_value=1000, places=2))
        unit_price = draw(st.decimals(min_value=0, max_value=10**5, places=4))
        base_quantity = draw(st.sampled_from([D(1), D(3), D(100)]))
        line_allowances_charges = [
            AllowanceCharge(is_charge=is_charge, amount=amount)
            for is_charge, amount in draw(
                st.lists(st.tuples(st.booleans(), minor_amounts), max_size=2)
            )
        ]
        lines.append(
            InvoiceLine(
                line_id=str(index + 1),
                description=f"service {index + 1}",
                quantity=quantity,
                unit_code="C62",
                unit_price=unit_price,
                price_base_quantity=base_quantity,
                net_amount=line_net_amount(
                    quantity, unit_price, base_quantity, line_allowances_charges, currency
                ),
                tax_category=category,
                tax_rate=D(rate),
                allowances_charges=line_allowances_charges,
            )
        )

    document_allowances_charges = [
        AllowanceCharge(is_charge=is_charge, amount=amount, tax_category=category, tax_rate=D(rate))
        for is_charge, amount, (category, rate) in draw(
            st.lists(
                st.tuples(st.booleans(), minor_amounts, st.sampled_from(TAX_GROUPS)), max_size=3
            )
        )
    ]
    return make_invoice(lines, document_allowances_charges, currency=currency)


@DETERMINISTIC
@given(invoice=invoices())
def test_full_credit_reverses_exactly(invoice: InvoiceDocument) -> None:
    credit = credit_note_for(invoice, number="CN-1")

    assert credit.currency == invoice.currency
    assert credit.lines == invoice.lines
    assert credit.tax_subtotals == invoice.tax_subtotals
    assert credit.totals == invoice.totals
    for credited, invoiced in zip(credit.tax_subtotals, invoice.tax_subtotals, strict=True):
        assert (credited.category, credited.rate) == (invoiced.category, invoiced.rate)
        assert credited.tax_amount == invoiced.tax_amount


@DETERMINISTIC
@given(invoice=invoices())
def test_credit_by_all_quantities_equals_full(invoice: InvoiceDocument) -> None:
    selection = {line.line_id: line.quantity for line in invoice.lines}

    credit = credit_note_for(invoice, lines=selection)

    assert credit.lines == invoice.lines
    assert credit.allowances_charges == invoice.allowances_charges
    assert credit.tax_subtotals == invoice.tax_subtotals
    assert credit.totals == invoice.totals
