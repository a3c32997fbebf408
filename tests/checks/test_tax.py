import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from billguard.checks.context import CheckContext, Draft
from billguard.checks.engine import run_checks
from billguard.domain.invoice import InvoiceLine, TaxSubtotal
from billguard.domain.tax import build_document_totals
from billguard.einvoice.ubl_reader import read_ubl
from billguard.registry.models import (
    BillingSchedule,
    BillingScheduleLine,
    Contract,
    ContractVersion,
    GLAccount,
)
from billguard.registry.services.contracts import contract_version_create
from billguard.registry.terms import DiscountTerms, LineTerms, terms_from_version
from tests.factories import D, checked_draft, make_contract

pytestmark = pytest.mark.django_db

FAMILY = {
    "TAX_RATE_MISMATCH",
    "TAX_EXEMPTION_REASON_MISSING",
    "GL_ACCOUNT_MISSING",
    "GL_ACCOUNT_UNKNOWN",
    "TOTALS_INCONSISTENT",
    "LINE_NET_INCONSISTENT",
    "CURRENCY_MISMATCH",
}

EXEMPT = "Exempt under Article 135(1) of Directive 2006/112/EC"


def codes(draft: Draft, context: CheckContext) -> list[str]:
    return [f.code for f in run_checks(draft, context, only=FAMILY)]


def update_schedule_lines(contract: Contract, **fields: object) -> None:
    """Change the billing schedule behind the contract's drafts, as finance might."""
    BillingScheduleLine.objects.filter(schedule__contract=contract).update(**fields)


def without_contract(draft: Draft) -> tuple[Draft, CheckContext]:
    """Return the draft as another system sends it, with no contract found for it."""
    return dataclasses.replace(draft, origin="ubl"), CheckContext(as_of=dt.date(2026, 11, 1))


def test_clean_contract_has_no_tax_finding(django_assert_num_queries):
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")

    with django_assert_num_queries(0):
        found = codes(draft, context)

    assert found == []


def test_clean_discounted_prorated_contract_has_no_tax_finding():
    setup = make_contract(
        effective_from=dt.date(2026, 11, 10),
        discounts=[DiscountTerms(percent=D("12.5"), approval_reference="APR-1")],
        approved_discounts=True,
    )
    draft, context = checked_draft(setup.contract, "2026-11")

    assert len(draft.document.lines[0].allowances_charges) == 2
    assert codes(draft, context) == []


def test_tax_rate_mismatch_when_schedule_rate_differs():
    setup = make_contract()
    update_schedule_lines(setup.contract, tax_rate=D("16"))

    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["TAX_RATE_MISMATCH"]
    assert (
        findings[0].message
        == "line 1 is taxed at 16% but contract C-1 version 1 sets 19% (category S)"
    )
    assert findings[0].expected == "19% (category S)"
    assert findings[0].actual == "16% (category S)"
    assert findings[0].amount_at_stake is not None
    assert findings[0].amount_at_stake.amount == D("30.00")
    assert findings[0].amount_at_stake.currency == "EUR"
    assert findings[0].evidence["contract_version"] == "1"


def test_tax_rate_mismatch_for_other_category():
    setup = make_contract(tax_category="E", tax_rate=D("0"), exemption_reason=EXEMPT)
    update_schedule_lines(setup.contract, tax_category="Z")

    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only={"TAX_RATE_MISMATCH"})

    assert len(findings) == 1
    assert findings[0].actual == "0% (category Z)"
    assert findings[0].expected == "0% (category E)"
    assert findings[0].amount_at_stake is not None
    assert findings[0].amount_at_stake.amount == D("1000.00")


def test_tax_rate_follows_contract_line_override():
    line = LineTerms(
        line_code="L1",
        kind="recurring_fixed",
        description="Printed training manuals",
        unit_price=D("1000.00"),
        quantity=D("1"),
        gl_account="4000",
        tax_category="S",
        tax_rate=D("7"),
    )
    setup = make_contract(lines=[line])
    draft, context = checked_draft(setup.contract, "2026-11")
    assert codes(draft, context) == []

    update_schedule_lines(setup.contract, tax_rate=D("19"))
    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["TAX_RATE_MISMATCH"]
    assert findings[0].message == (
        "line 1 is taxed at 19% but line L1 of contract C-1 version 1 sets 7% (category S)"
    )
    assert findings[0].amount_at_stake is not None
    assert findings[0].amount_at_stake.amount == D("120.00")


def test_tax_rate_mismatch_names_sales_tax_jurisdiction():
    setup = make_contract(tax_rate=D("8.875"), tax_jurisdiction="US-NY New York City")
    draft, context = checked_draft(setup.contract, "2026-11")
    assert codes(draft, context) == []

    update_schedule_lines(setup.contract, tax_rate=D("8.5"))
    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["TAX_RATE_MISMATCH"]
    assert findings[0].expected == "8.875% (category S, sales tax jurisdiction US-NY New York City)"
    assert findings[0].amount_at_stake is not None
    assert findings[0].amount_at_stake.amount == D("3.75")


def test_tax_rate_follows_version_in_force():
    setup = make_contract()
    first = ContractVersion.objects.prefetch_related("lines", "discounts", "price_changes").get(
        contract=setup.contract
    )
    terms = terms_from_version(first)
    terms.effective_from = dt.date(2026, 7, 1)
    terms.tax_rate = D("16")
    contract_version_create(contract=setup.contract, terms=terms)

    before, before_context = checked_draft(setup.contract, "2026-05")
    after, after_context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(after, after_context, only=FAMILY)

    assert codes(before, before_context) == []
    assert [f.code for f in findings] == ["TAX_RATE_MISMATCH"]
    assert findings[0].expected == "16% (category S)"
    assert findings[0].evidence["contract_version"] == "2"


def test_exemption_reason_missing_for_exempt_contract():
    setup = make_contract(tax_category="E", tax_rate=D("0"))

    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["TAX_EXEMPTION_REASON_MISSING"]
    assert findings[0].subject == "VAT breakdown E at 0%"
    assert findings[0].message.startswith("the VAT breakdown of category E at 0% (line 1) has")
    assert "BR-E-10" in findings[0].message
    assert findings[0].evidence["lines"] == "1"
    assert findings[0].amount_at_stake is not None
    assert findings[0].amount_at_stake.amount == D("1000.00")


def test_exemption_reason_missing_for_outside_scope():
    setup = make_contract(tax_category="O", tax_rate=None)

    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["TAX_EXEMPTION_REASON_MISSING"]
    assert findings[0].evidence["rule"] == "BR-O-10"
    assert findings[0].subject == "VAT breakdown O without rate"


def test_exemption_reason_present_for_exempt_contract():
    setup = make_contract(tax_category="E", tax_rate=D("0"), exemption_reason=EXEMPT)

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_exemption_reason_code_on_breakdown_suffices():
    setup = make_contract(tax_category="AE", tax_rate=D("0"))
    draft, _ = checked_draft(setup.contract, "2026-11")
    draft, context = without_contract(draft)
    draft.document.tax_subtotals[0].exemption_reason_code = "VATEX-EU-AE"

    assert codes(draft, context) == []


def test_exemption_reason_missing_without_contract():
    setup = make_contract(tax_category="AE", tax_rate=D("0"))
    draft, _ = checked_draft(setup.contract, "2026-11")
    draft, context = without_contract(draft)

    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["TAX_EXEMPTION_REASON_MISSING"]
    assert findings[0].evidence["rule"] == "BR-AE-10"


def test_exemption_reason_missing_on_line_outside_breakdown():
    setup = make_contract()
    draft, _ = checked_draft(setup.contract, "2026-11")
    draft, context = without_contract(draft)
    draft.document.lines.append(
        InvoiceLine(
            line_id="2",
            description="Installation in Austria",
            quantity=D("1"),
            unit_code="C62",
            unit_price=D("100.00"),
            net_amount=D("100.00"),
            tax_category="K",
            tax_rate=D("0"),
        )
    )

    findings = run_checks(draft, context, only={"TAX_EXEMPTION_REASON_MISSING"})

    assert [f.subject for f in findings] == ["line 2"]
    assert findings[0].evidence["rule"] == "BR-IC-10"


def test_gl_account_missing_on_schedule_line():
    setup = make_contract()
    update_schedule_lines(setup.contract, gl_account="")

    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["GL_ACCOUNT_MISSING"]
    assert findings[0].subject == "line 1"
    assert findings[0].expected == "GL account 4000 of contract line L1"
    assert findings[0].amount_at_stake is not None
    assert findings[0].amount_at_stake.amount == D("1000.00")


def test_gl_account_unknown_when_not_in_chart():
    setup = make_contract()
    update_schedule_lines(setup.contract, gl_account="4999")

    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["GL_ACCOUNT_UNKNOWN"]
    assert findings[0].actual == "4999 (not found)"
    assert findings[0].evidence["gl_account"] == "4999"


def test_gl_account_unknown_when_closed():
    setup = make_contract()
    GLAccount.objects.filter(code="4000").update(is_closed=True)

    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["GL_ACCOUNT_UNKNOWN"]
    assert findings[0].message == (
        "line 1 posts to GL account 4000 Subscription revenue, which is closed"
    )


def test_line_net_inconsistent_for_wrong_unit_price():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    draft.document.lines[0].unit_price = D("990.00")

    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["LINE_NET_INCONSISTENT"]
    assert findings[0].subject == "line 1"
    assert findings[0].expected == "990.00"
    assert findings[0].actual == "1000.00"
    assert "BR-LIN-04" in findings[0].message
    assert findings[0].amount_at_stake is not None
    assert findings[0].amount_at_stake.amount == D("10.00")


def test_line_net_wrong_with_totals_following():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    document = draft.document
    document.lines[0].net_amount = D("1000.01")
    document.tax_subtotals, document.totals = build_document_totals(document)

    findings = run_checks(draft, context, only=FAMILY)

    assert [(f.code, f.subject) for f in findings] == [("LINE_NET_INCONSISTENT", "line 1")]
    assert findings[0].evidence["business_term"] == "BT-131"


def test_line_net_of_external_draft_within_rounding():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    draft = dataclasses.replace(draft, origin="guard")
    # 486 x 4.9715 = 2416.149: a price with more decimals than the four shown, or a net
    # amount rounded up, gives 2416.16. Rounding explains less than 0.01 + 486 x 0.00005.
    line = draft.document.lines[0]
    line.quantity, line.unit_price, line.allowances_charges = D("486"), D("4.9715"), []
    line.net_amount = D("2416.16")

    assert [f.code for f in run_checks(draft, context, only={"LINE_NET_INCONSISTENT"})] == []

    line.net_amount = D("2416.19")
    findings = run_checks(draft, context, only={"LINE_NET_INCONSISTENT"})

    assert [f.expected for f in findings] == ["2416.15"]


def test_line_net_of_billing_run_draft_is_exact():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    line = draft.document.lines[0]
    line.quantity, line.unit_price, line.allowances_charges = D("486"), D("4.9715"), []
    line.net_amount = D("2416.16")

    findings = run_checks(draft, context, only={"LINE_NET_INCONSISTENT"})

    assert [(f.expected, f.actual) for f in findings] == [("2416.15", "2416.16")]


def test_line_net_not_checked_without_contract():
    setup = make_contract()
    draft, _ = checked_draft(setup.contract, "2026-11")
    draft, context = without_contract(draft)
    draft.document.lines[0].unit_price = D("400.00")

    assert codes(draft, context) == []


def test_line_net_inconsistent_for_zero_base_quantity():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    draft.document.lines[0].price_base_quantity = D("0")

    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["LINE_NET_INCONSISTENT"]
    assert "cannot be recomputed" in findings[0].message


def test_totals_inconsistent_for_wrong_tax_amount():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    draft.document.tax_subtotals[0].tax_amount = D("180.00")

    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["TOTALS_INCONSISTENT"]
    assert findings[0].subject == "VAT breakdown S at 19%"
    assert findings[0].evidence["business_term"] == "BT-117"
    assert findings[0].evidence["rule"] == "BR-CO-17"
    assert findings[0].expected == "190.00"
    assert findings[0].actual == "180.00"
    assert findings[0].amount_at_stake is not None
    assert findings[0].amount_at_stake.amount == D("10.00")


def test_totals_inconsistent_for_missing_breakdown():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    draft.document.tax_subtotals = []

    findings = run_checks(draft, context, only=FAMILY)

    assert [f.evidence["business_term"] for f in findings] == ["BT-116", "BT-117"]
    assert findings[0].evidence["rule"] == "BR-S-08"
    assert findings[0].message.startswith("the VAT breakdown has no entry for category S at 19%")


def test_totals_inconsistent_for_extra_breakdown_entry():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    draft.document.tax_subtotals.append(TaxSubtotal("Z", D("0"), D("50.00"), D("0.00")))

    findings = run_checks(draft, context, only=FAMILY)

    assert [f.subject for f in findings] == ["VAT breakdown Z at 0%"]
    assert findings[0].expected == "0"
    assert findings[0].actual == "50.00"


def test_totals_inconsistent_for_duplicate_breakdown_entry():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    half = TaxSubtotal("S", D("19"), D("500.00"), D("95.00"))
    draft.document.tax_subtotals = [half, dataclasses.replace(half)]

    findings = run_checks(draft, context, only=FAMILY)

    assert [f.actual for f in findings] == ["2 entries"]


@pytest.mark.parametrize(
    ("attribute", "business_term"),
    [
        ("line_extension", "BT-106"),
        ("allowance_total", "BT-107"),
        ("charge_total", "BT-108"),
        ("tax_exclusive", "BT-109"),
        ("tax_total", "BT-110"),
        ("tax_inclusive", "BT-112"),
        ("payable", "BT-115"),
    ],
)
def test_totals_inconsistent_for_each_total(attribute, business_term):
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    stated = getattr(draft.document.totals, attribute)
    setattr(draft.document.totals, attribute, stated + D("0.01"))

    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["TOTALS_INCONSISTENT"]
    assert findings[0].evidence["business_term"] == business_term
    assert findings[0].amount_at_stake is not None
    assert findings[0].amount_at_stake.amount == D("0.01")


def test_totals_consistent_whatever_the_trailing_zeros():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    draft.document.totals.payable = D("1190.0")

    assert codes(draft, context) == []


def test_totals_inconsistent_without_contract():
    setup = make_contract()
    draft, _ = checked_draft(setup.contract, "2026-11")
    draft, context = without_contract(draft)
    draft.document.totals.payable = D("1191.00")

    assert codes(draft, context) == ["TOTALS_INCONSISTENT"]


def test_totals_inconsistent_for_unknown_category():
    setup = make_contract()
    draft, _ = checked_draft(setup.contract, "2026-11")
    draft, context = without_contract(draft)
    draft.document.lines[0].tax_category = "X"

    findings = run_checks(draft, context, only={"TOTALS_INCONSISTENT"})

    assert len(findings) == 1
    assert findings[0].subject == "invoice"
    assert "'X' is not a VAT category code" in findings[0].message


def restate_tax(draft: Draft, tax_amount: str) -> None:
    """Give the draft's only VAT breakdown entry ``tax_amount``, and totals that add up."""
    document = draft.document
    difference = D(tax_amount) - document.tax_subtotals[0].tax_amount
    document.tax_subtotals[0].tax_amount = D(tax_amount)
    document.totals.tax_total += difference
    document.totals.tax_inclusive += difference
    document.totals.payable += difference


@pytest.mark.parametrize("tax_amount", ["189.01", "190.99", "189.50"])
def test_tax_amount_within_tolerance_of_br_co_17(tax_amount):
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    restate_tax(draft, tax_amount)

    assert codes(draft, context) == []


@pytest.mark.parametrize("tax_amount", ["189.00", "191.00", "-190.00"])
def test_tax_amount_beyond_tolerance_of_br_co_17(tax_amount):
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    draft.document.tax_subtotals[0].tax_amount = D(tax_amount)

    findings = run_checks(draft, context, only=FAMILY)

    assert [f.evidence["business_term"] for f in findings] == ["BT-117"]
    assert findings[0].expected == "190.00"
    assert findings[0].actual == tax_amount


def test_total_vat_is_exact_sum_of_breakdown():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    # The breakdown's 189.50 passes BR-CO-17, so the VAT total must be 189.50 (BR-CO-14), and
    # the totals above it follow from that.
    draft.document.tax_subtotals[0].tax_amount = D("189.50")

    findings = run_checks(draft, context, only=FAMILY)

    assert [f.evidence["rule"] for f in findings] == ["BR-CO-14", "BR-CO-15", "BR-CO-16"]
    assert [f.expected for f in findings] == ["189.50", "1189.50", "1189.50"]
    assert [f.actual for f in findings] == ["190.00", "1190.00", "1190.00"]


def test_standard_taxable_amount_within_tolerance():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    # 1000.40 x 19 / 100 = 190.076, so BR-CO-17 wants 190.08 of the stated taxable amount.
    draft.document.tax_subtotals[0].taxable_amount = D("1000.40")
    restate_tax(draft, "190.08")

    assert codes(draft, context) == []


def test_standard_taxable_amount_beyond_tolerance():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    draft.document.tax_subtotals[0].taxable_amount = D("1001.00")

    findings = run_checks(draft, context, only=FAMILY)

    assert [f.evidence["rule"] for f in findings] == ["BR-S-08"]
    assert findings[0].expected == "1000.00"


def test_exempt_taxable_amount_is_exact():
    setup = make_contract(tax_category="E", tax_rate=D("0"), exemption_reason=EXEMPT)
    draft, context = checked_draft(setup.contract, "2026-11")
    draft.document.tax_subtotals[0].taxable_amount = D("1000.01")

    findings = run_checks(draft, context, only=FAMILY)

    assert [f.evidence["rule"] for f in findings] == ["BR-E-08"]


def test_zero_rate_tax_amount_is_exact():
    setup = make_contract(tax_category="E", tax_rate=D("0"), exemption_reason=EXEMPT)
    draft, context = checked_draft(setup.contract, "2026-11")
    draft.document.tax_subtotals[0].tax_amount = D("0.01")

    findings = run_checks(draft, context, only=FAMILY)

    assert [f.evidence["rule"] for f in findings] == ["BR-CO-17"]


def test_split_payment_totals_consistent():
    setup = make_contract()
    draft, _ = checked_draft(setup.contract, "2026-11")
    draft, context = without_contract(draft)
    document = draft.document
    document.lines[0].tax_category = "B"
    document.lines[0].tax_rate = D("22")
    document.tax_subtotals, document.totals = build_document_totals(document)

    assert codes(draft, context) == []
    assert document.totals.tax_total == D("220.00")


_SHARED_EINVOICE = Path(__file__).resolve().parents[3] / "shared" / "data" / "einvoice"
EXAMPLE_NAMES = sorted(
    f"{folder}/{path.name}"
    for folder in ("en16931-examples", "en16931-testfiles")
    for path in (_SHARED_EINVOICE / folder).glob("*")
    if path.suffix.lower() == ".xml"
)


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_official_example_passes_tax_arithmetic(einvoice_examples, name):
    path = einvoice_examples / name
    draft = Draft(document=read_ubl(path, source=path.name), origin="guard")

    findings = run_checks(
        draft,
        CheckContext(as_of=dt.date(2026, 11, 1)),
        only={"TOTALS_INCONSISTENT", "TAX_EXEMPTION_REASON_MISSING", "LINE_NET_INCONSISTENT"},
    )

    assert [f.message for f in findings] == []


def test_currency_mismatch_when_schedule_currency_differs():
    setup = make_contract()
    BillingSchedule.objects.filter(contract=setup.contract).update(currency="USD")

    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["CURRENCY_MISMATCH"]
    assert findings[0].expected == "EUR"
    assert findings[0].actual == "USD"
    assert findings[0].amount_at_stake is not None
    assert findings[0].amount_at_stake.currency == "USD"
    assert findings[0].amount_at_stake.amount == draft.document.totals.payable
