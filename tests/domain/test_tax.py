"""VAT breakdown and totals per EN 16931, and line net amounts."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billguard.domain.errors import InvalidInput
from billguard.domain.invoice import (
    AllowanceCharge,
    DocumentType,
    InvoiceDocument,
    InvoiceLine,
    PartyInfo,
    TaxSubtotal,
    Totals,
)
from billguard.domain.rounding import RoundingMode
from billguard.domain.tax import (
    TaxCategory,
    build_document_totals,
    category_tax_amount,
    compute_tax_breakdown,
    compute_totals,
    line_net_amount,
    line_net_explained_by_rounding,
    parse_tax_category,
    recompute_line_net_amount,
    tax_amount_accepted,
    taxable_amount_accepted,
)

# derandomize=True makes Hypothesis generate the same examples on every run.
DETERMINISTIC = settings(derandomize=True, deadline=None, max_examples=300)

D = Decimal


def line(
    line_id: str,
    net_amount: str,
    category: str = "S",
    rate: str | None = "19",
    *,
    quantity: str = "1",
    unit_price: str | None = None,
    exemption_reason: str = "",
) -> InvoiceLine:
    return InvoiceLine(
        line_id=line_id,
        description=f"item {line_id}",
        quantity=D(quantity),
        unit_code="C62",
        unit_price=D(unit_price if unit_price is not None else net_amount),
        net_amount=D(net_amount),
        tax_category=category,
        tax_rate=None if rate is None else D(rate),
        exemption_reason=exemption_reason,
    )


def allowance(amount: str, category: str = "S", rate: str | None = "19") -> AllowanceCharge:
    return AllowanceCharge(
        is_charge=False,
        amount=D(amount),
        reason="Discount",
        tax_category=category,
        tax_rate=None if rate is None else D(rate),
    )


def charge(amount: str, category: str = "S", rate: str | None = "19") -> AllowanceCharge:
    return AllowanceCharge(
        is_charge=True,
        amount=D(amount),
        reason="Freight",
        tax_category=category,
        tax_rate=None if rate is None else D(rate),
    )


# compute_tax_breakdown


def test_breakdown_hand_worked_example() -> None:
    # Two categories, S at 7 % and 19 % and E, and a document allowance on S 19 %.
    # S 7 %:  10.05 + 10.05 = 20.10, tax 20.10 * 7 / 100 = 1.407 -> 1.41
    #         (rounding each line's tax, 0.7035 -> 0.70 twice, would give 1.40).
    # S 19 %: 99.99 - 5.00 = 94.99, tax 94.99 * 19 / 100 = 18.0481 -> 18.05
    # E:      80.00, tax 0.00
    lines = [
        line("1", "10.05", "S", "7"),
        line("2", "10.05", "S", "7"),
        line("3", "99.99", "S", "19", quantity="3", unit_price="33.33"),
        line("4", "80.00", "E", "0", quantity="2", unit_price="40.00", exemption_reason="Medical"),
    ]
    allowances_charges = [allowance("5.00", "S", "19")]

    breakdown = compute_tax_breakdown(lines, allowances_charges, "EUR")

    assert breakdown == [
        TaxSubtotal(category="S", rate=D("7"), taxable_amount=D("20.10"), tax_amount=D("1.41")),
        TaxSubtotal(category="S", rate=D("19"), taxable_amount=D("94.99"), tax_amount=D("18.05")),
        TaxSubtotal(
            category="E",
            rate=D("0"),
            taxable_amount=D("80.00"),
            tax_amount=D("0.00"),
            exemption_reason="Medical",
        ),
    ]


def test_totals_hand_worked_example() -> None:
    lines = [
        line("1", "10.05", "S", "7"),
        line("2", "10.05", "S", "7"),
        line("3", "99.99", "S", "19"),
        line("4", "80.00", "E", "0"),
    ]
    allowances_charges = [allowance("5.00", "S", "19")]
    breakdown = compute_tax_breakdown(lines, allowances_charges, "EUR")

    totals = compute_totals(lines, allowances_charges, breakdown, "EUR")

    assert totals == Totals(
        line_extension=D("200.09"),
        allowance_total=D("5.00"),
        charge_total=D("0.00"),
        tax_exclusive=D("195.09"),
        tax_total=D("19.46"),
        tax_inclusive=D("214.55"),
        prepaid=D("0.00"),
        rounding=D("0.00"),
        payable=D("214.55"),
    )


def test_breakdown_matches_cen_example_5() -> None:
    # CEN/TC 434 worked example 5 (ubl-tc434-example5.xml in the EN 16931 validation
    # artefacts, ConnectingEurope/eInvoicing-EN16931): DKK, 25 % and 12 %, a document
    # allowance and a document charge of 150.00 each, 2337.50 paid in advance.
    lines = [
        line("1", "1000.00", "S", "25", quantity="1000", unit_price="1.00"),
        line("2", "500.00", "S", "25", quantity="100", unit_price="5.00"),
        line("3", "2500.00", "S", "12", quantity="500", unit_price="5.00"),
    ]
    allowances_charges = [allowance("150.00", "S", "25"), charge("150.00", "S", "25")]

    breakdown = compute_tax_breakdown(lines, allowances_charges, "DKK")
    totals = compute_totals(lines, allowances_charges, breakdown, "DKK", prepaid=D("2337.50"))

    assert [(item.rate, item.taxable_amount, item.tax_amount) for item in breakdown] == [
        (D("25"), D("1500.00"), D("375.00")),
        (D("12"), D("2500.00"), D("300.00")),
    ]
    assert totals.line_extension == D("4000.00")
    assert totals.allowance_total == D("150.00")
    assert totals.charge_total == D("150.00")
    assert totals.tax_exclusive == D("4000.00")
    assert totals.tax_total == D("675.00")
    assert totals.tax_inclusive == D("4675.00")
    assert totals.prepaid == D("2337.50")
    assert totals.payable == D("2337.50")


def test_breakdown_tie_follows_mode() -> None:
    lines = [line("1", "49.50", "S", "7")]  # 49.50 * 7 / 100 = 3.465

    half_up = compute_tax_breakdown(lines, [], "EUR", RoundingMode.HALF_UP)
    half_even = compute_tax_breakdown(lines, [], "EUR", RoundingMode.HALF_EVEN)

    assert half_up[0].tax_amount == D("3.47")
    assert half_even[0].tax_amount == D("3.46")


def test_breakdown_us_sales_tax_rate() -> None:
    lines = [line("1", "1000.10", "S", "8.875"), line("2", "60.00", "S", "8.875")]

    [subtotal] = compute_tax_breakdown(lines, [], "USD")

    # 1060.10 * 8.875 / 100 = 94.083875
    assert subtotal.rate == D("8.875")
    assert subtotal.taxable_amount == D("1060.10")
    assert subtotal.tax_amount == D("94.08")


def test_breakdown_four_decimal_rate_tie() -> None:
    # 60.00 * 8.875 / 100 = 5.325 exactly.
    lines = [line("1", "60.00", "S", "8.875")]

    assert compute_tax_breakdown(lines, [], "USD")[0].tax_amount == D("5.33")
    assert compute_tax_breakdown(lines, [], "USD", RoundingMode.HALF_EVEN)[0].tax_amount == D(
        "5.32"
    )


def test_breakdown_jpy_whole_yen() -> None:
    [subtotal] = compute_tax_breakdown([line("1", "1005", "S", "10")], [], "JPY")

    assert subtotal.tax_amount == D("101")
    assert subtotal.tax_amount.as_tuple().exponent == 0


def test_breakdown_bhd_three_decimals() -> None:
    [subtotal] = compute_tax_breakdown([line("1", "12.345", "S", "10")], [], "BHD")

    assert subtotal.tax_amount == D("1.235")


def test_breakdown_groups_equal_rates() -> None:
    lines = [line("1", "10.00", "S", "25"), line("2", "20.00", "S", "25.00")]

    breakdown = compute_tax_breakdown(lines, [], "EUR")

    assert len(breakdown) == 1
    assert breakdown[0].taxable_amount == D("30.00")


def test_breakdown_charge_without_line_of_its_rate() -> None:
    lines = [line("1", "800.00", "S", "10")]

    breakdown = compute_tax_breakdown(lines, [charge("100.00", "S", "25")], "DKK")

    assert [(item.rate, item.taxable_amount, item.tax_amount) for item in breakdown] == [
        (D("10"), D("800.00"), D("80.00")),
        (D("25"), D("100.00"), D("25.00")),
    ]


def test_breakdown_negative_amounts_round_symmetrically() -> None:
    lines = [line("1", "-10.05", "S", "7")]  # -0.7035

    assert compute_tax_breakdown(lines, [], "EUR")[0].tax_amount == D("-0.70")


@pytest.mark.parametrize(
    ("category", "rate", "expected_rate"),
    [
        ("Z", None, D(0)),
        ("Z", "0", D(0)),
        ("E", None, D(0)),
        ("AE", "0.00", D("0.00")),
        ("K", "0", D(0)),
        ("G", "0", D(0)),
        ("O", None, None),
        ("O", "0", None),
        ("L", "7", D(7)),
        ("L", "0", D(0)),
        ("M", "4", D(4)),
        ("B", "22", D(22)),
    ],
)
def test_breakdown_category_rates(
    category: str, rate: str | None, expected_rate: Decimal | None
) -> None:
    [subtotal] = compute_tax_breakdown([line("1", "100.00", category, rate)], [], "EUR")

    assert subtotal.category == category
    assert subtotal.rate == expected_rate
    expected_tax = D("100.00") * (expected_rate or 0) / 100
    assert subtotal.tax_amount == expected_tax.quantize(D("0.01"))


@pytest.mark.parametrize(
    ("category", "rate"),
    [
        ("S", None),
        ("S", "0"),
        ("S", "-19"),
        ("Z", "5"),
        ("E", "19"),
        ("AE", "19"),
        ("K", "1"),
        ("G", "1"),
        ("O", "19"),
        ("L", None),
        ("L", "-1"),
        ("M", None),
        ("B", None),
        ("B", "-22"),
        ("X", "19"),
        ("", "19"),
    ],
)
def test_breakdown_rejects_category_rate(category: str, rate: str | None) -> None:
    with pytest.raises(InvalidInput) as error:
        compute_tax_breakdown([line("7", "100.00", category, rate)], [], "EUR")

    assert "line 7" in (error.value.place or "")


def test_breakdown_rejects_allowance_without_category() -> None:
    with pytest.raises(InvalidInput) as error:
        compute_tax_breakdown([line("1", "100.00")], [allowance("5.00", "", None)], "EUR")

    assert "BR-32" in (error.value.fix or "")


def test_breakdown_rejects_unknown_currency() -> None:
    with pytest.raises(InvalidInput):
        compute_tax_breakdown([line("1", "100.00")], [], "EURO")


def test_breakdown_rejects_float_amount() -> None:
    bad_line = line("1", "100.00")
    bad_line.net_amount = 100.0  # type: ignore[assignment]

    with pytest.raises(InvalidInput):
        compute_tax_breakdown([bad_line], [], "EUR")


def test_parse_tax_category_codes() -> None:
    assert parse_tax_category("S") is TaxCategory.STANDARD
    assert parse_tax_category(" ae ") is TaxCategory.REVERSE_CHARGE
    assert [category.value for category in TaxCategory] == [
        "S",
        "Z",
        "E",
        "AE",
        "K",
        "G",
        "O",
        "L",
        "M",
        "B",
    ]
    assert parse_tax_category("B") is TaxCategory.SPLIT_PAYMENT


# compute_totals and build_document_totals


def test_totals_with_rounding_amount() -> None:
    lines = [line("1", "10.02", "S", "8.1")]  # tax 0.81162 -> 0.81
    breakdown = compute_tax_breakdown(lines, [], "CHF")

    totals = compute_totals(lines, [], breakdown, "CHF", rounding_amount=D("0.02"))

    assert totals.tax_inclusive == D("10.83")
    assert totals.rounding == D("0.02")
    assert totals.payable == D("10.85")


def test_build_document_totals_keeps_prepaid() -> None:
    document = InvoiceDocument(
        document_type=DocumentType.INVOICE,
        number="INV-1",
        issue_date=dt.date(2026, 11, 1),
        currency="EUR",
        seller=PartyInfo(name="Seller"),
        buyer=PartyInfo(name="Buyer"),
        lines=[line("1", "100.00", "S", "19")],
        tax_subtotals=[],
        totals=Totals(
            line_extension=D(0),
            allowance_total=D(0),
            charge_total=D(0),
            tax_exclusive=D(0),
            tax_total=D(0),
            tax_inclusive=D(0),
            prepaid=D("50.00"),
            rounding=D(0),
            payable=D(0),
        ),
        allowances_charges=[charge("10.00", "S", "19")],
    )

    breakdown, totals = build_document_totals(document)

    assert breakdown == [
        TaxSubtotal(category="S", rate=D("19"), taxable_amount=D("110.00"), tax_amount=D("20.90"))
    ]
    assert totals.tax_inclusive == D("130.90")
    assert totals.prepaid == D("50.00")
    assert totals.payable == D("80.90")


amounts = st.integers(min_value=-(10**9), max_value=10**9).map(lambda cents: D(cents).scaleb(-2))
tax_groups = st.sampled_from(
    [("S", "19"), ("S", "7"), ("S", "8.875"), ("Z", "0"), ("E", "0"), ("AE", "0"), ("O", None)]
)


@DETERMINISTIC
@given(
    line_specs=st.lists(st.tuples(amounts, tax_groups), min_size=1, max_size=10),
    document_specs=st.lists(
        st.tuples(st.booleans(), amounts.map(abs), tax_groups), min_size=0, max_size=4
    ),
)
def test_totals_follow_en16931_identities(
    line_specs: list[tuple[Decimal, tuple[str, str | None]]],
    document_specs: list[tuple[bool, Decimal, tuple[str, str | None]]],
) -> None:
    lines = [
        line(str(index), str(amount), category, rate)
        for index, (amount, (category, rate)) in enumerate(line_specs)
    ]
    allowances_charges = [
        AllowanceCharge(
            is_charge=is_charge,
            amount=amount,
            tax_category=category,
            tax_rate=None if rate is None else D(rate),
        )
        for is_charge, amount, (category, rate) in document_specs
    ]

    breakdown = compute_tax_breakdown(lines, allowances_charges, "EUR")
    totals = compute_totals(lines, allowances_charges, breakdown, "EUR")

    assert totals.line_extension == sum(item.net_amount for item in lines)  # BR-CO-10
    assert totals.tax_exclusive == (
        totals.line_extension - totals.allowance_total + totals.charge_total
    )  # BR-CO-13
    assert sum(item.taxable_amount for item in breakdown) == totals.tax_exclusive
    assert totals.tax_total == sum(item.tax_amount for item in breakdown)  # BR-CO-14
    assert totals.tax_inclusive == totals.tax_exclusive + totals.tax_total  # BR-CO-15
    assert totals.payable == totals.tax_inclusive  # BR-CO-16 without paid or rounding amounts
    for subtotal in breakdown:
        rate = subtotal.rate or D(0)
        exact = subtotal.taxable_amount * rate / 100
        assert abs(subtotal.tax_amount - exact) <= D("0.005")  # BR-CO-17


def test_totals_are_exact_sums() -> None:
    # EN 16931 allows two decimals on JPY amounts too, and BR-CO-10 adds them exactly.
    lines = [line("1", "10.40", "S", "10"), line("2", "10.40", "S", "10")]
    breakdown = compute_tax_breakdown(lines, [], "JPY")

    totals = compute_totals(lines, [], breakdown, "JPY")

    assert breakdown[0].taxable_amount == D("20.80")
    assert breakdown[0].tax_amount == D("2")
    assert totals.line_extension == D("20.80")
    assert totals.tax_inclusive == D("22.80")


def test_totals_show_minor_units() -> None:
    totals = compute_totals([line("1", "100", "S", "19")], [], [], "EUR")

    assert str(totals.line_extension) == "100.00"
    assert str(totals.allowance_total) == "0.00"


# Tolerance of the VAT breakdown


@pytest.mark.parametrize(
    ("category", "stated", "accepted"),
    [
        ("S", "100.99", True),
        ("S", "99.01", True),
        ("S", "101.00", False),
        ("L", "100.50", True),
        ("M", "100.50", True),
        ("B", "100.50", True),
        ("Z", "100.01", False),
        ("E", "100.00", True),
        ("AE", "99.99", False),
        ("O", "100.01", False),
    ],
)
def test_taxable_amount_accepted(category: str, stated: str, accepted: bool) -> None:
    assert taxable_amount_accepted(category, D(stated), D("100.00")) is accepted


@pytest.mark.parametrize(
    ("rate", "stated", "accepted"),
    [
        (D("19"), "19.00", True),
        (D("19"), "19.99", True),
        (D("19"), "18.01", True),
        (D("19"), "20.00", False),
        (D("19"), "-19.00", False),
        (D(0), "0.00", True),
        (D(0), "0.01", False),
        (None, "0", True),
        (None, "0.50", False),
    ],
)
def test_tax_amount_accepted(rate: Decimal | None, stated: str, accepted: bool) -> None:
    computed = category_tax_amount(D("100.00"), rate, "EUR")

    assert tax_amount_accepted(rate, D(stated), computed) is accepted


# line_net_amount


def test_line_net_amount_cen_example_5_line() -> None:
    line_allowances_charges = [
        AllowanceCharge(is_charge=False, amount=D("100.00")),
        AllowanceCharge(is_charge=True, amount=D("100.00")),
    ]

    net = line_net_amount(D(1000), D("1.00"), D(1), line_allowances_charges, "DKK")

    assert net == D("1000.00")


def test_line_net_amount_price_base_quantity() -> None:
    assert line_net_amount(D(250), D("12.34"), D(100), [], "EUR") == D("30.85")
    assert line_net_amount(D(1), D("10.00"), D(3), [], "EUR") == D("3.33")
    assert line_net_amount(D(2), D("10.00"), D(3), [], "EUR") == D("6.67")


def test_line_net_amount_rounds_once() -> None:
    # 3 * 0.3335 = 1.0005: 1.00 in HALF_UP, 1.01 in UP. Rounding the price to 0.33 first
    # would give 0.99.
    assert line_net_amount(D(3), D("0.3335"), D(1), [], "EUR") == D("1.00")
    assert line_net_amount(D(3), D("0.3335"), D(1), [], "EUR", RoundingMode.UP) == D("1.01")


def test_line_net_amount_tie_follows_mode() -> None:
    # 5 * 0.125 = 0.625 exactly.
    half_up = line_net_amount(D(5), D("0.125"), D(1), [], "EUR")
    half_even = line_net_amount(D(5), D("0.125"), D(1), [], "EUR", RoundingMode.HALF_EVEN)

    assert half_up == D("0.63")
    assert half_even == D("0.62")


def test_line_net_amount_allowance_and_tie() -> None:
    allowances = [AllowanceCharge(is_charge=False, amount=D("0.10"))]

    net = line_net_amount(D(1), D("10.005"), D(1), allowances, "EUR", RoundingMode.HALF_EVEN)

    # 10.005 - 0.10 = 9.905, a tie that HALF_EVEN rounds to 9.90.
    assert net == D("9.90")


def test_line_net_amount_jpy() -> None:
    assert line_net_amount(D(3), D("33.5"), D(1), [], "JPY") == D("101")


@pytest.mark.parametrize("base", [D(0), D(-1)])
def test_line_net_amount_rejects_base_quantity(base: Decimal) -> None:
    with pytest.raises(InvalidInput):
        line_net_amount(D(1), D(1), base, [], "EUR")


def test_line_net_amount_rejects_float() -> None:
    with pytest.raises(InvalidInput):
        line_net_amount(1.5, D(1), D(1), [], "EUR")  # type: ignore[arg-type]


def test_recompute_line_net_amount() -> None:
    item = line("1", "0", quantity="3", unit_price="33.33")

    assert recompute_line_net_amount(item, "EUR") == D("99.99")


@pytest.mark.parametrize(
    ("quantity", "unit_price", "net_amount", "explained"),
    [
        # 486 x 4.9715 = 2416.149; the 4-decimal price allows 486 x 0.00005 = 0.0243 more.
        ("486", "4.9715", "2416.15", True),
        ("486", "4.9715", "2416.16", True),
        ("486", "4.9715", "2416.18", True),
        ("486", "4.9715", "2416.19", False),
        # A 2-decimal price allows 0.005 per unit: 1000.01 is 0.01 off, below 0.015.
        ("1", "1000.00", "1000.01", True),
        ("1", "1000.00", "1000.02", False),
        # A price written without decimals counts as shown to the currency's minor unit.
        ("1", "1000", "1000.02", False),
        ("2", "800.00", "400.00", False),
        ("-1", "3.96", "-3.96", True),
        ("6", "18.33", "-109.98", False),
    ],
)
def test_line_net_explained_by_rounding(
    quantity: str, unit_price: str, net_amount: str, explained: bool
) -> None:
    item = line("1", net_amount, quantity=quantity, unit_price=unit_price)

    assert line_net_explained_by_rounding(item, "EUR") is explained


def test_line_net_explained_with_base_quantity_and_allowance() -> None:
    item = line("1", "29.85", quantity="250", unit_price="12.34")
    item.price_base_quantity = D(100)
    item.allowances_charges = [AllowanceCharge(is_charge=False, amount=D("1.00"))]

    # 250 x 12.34 / 100 - 1.00 = 29.85
    assert line_net_explained_by_rounding(item, "EUR") is True
    item.net_amount = D("30.85")
    assert line_net_explained_by_rounding(item, "EUR") is False


def test_line_net_explained_rejects_base_quantity() -> None:
    item = line("1", "10.00")
    item.price_base_quantity = D(0)

    with pytest.raises(InvalidInput):
        line_net_explained_by_rounding(item, "EUR")
