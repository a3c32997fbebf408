import dataclasses
import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import transaction
from pytest_django import DjangoAssertNumQueries

from billguard.billing.credit import credit_note_issue
from billguard.billing.invoices import CheckedPlan, invoices_issue, invoices_save_drafts
from billguard.billing.models import Invoice
from billguard.billing.run import billing_run_execute
from billguard.checks import coverage
from billguard.checks.context import CheckContext, Draft
from billguard.checks.engine import run_checks
from billguard.checks.finding import Finding, Severity
from billguard.domain.periods import parse_period
from billguard.registry.models import BillingScheduleLine, Contract
from billguard.registry.services.entities import seller_entity_create
from billguard.registry.services.sources import usage_record_add
from billguard.registry.terms import LineTerms
from tests.factories import checked_draft, draft_for, make_contract

pytestmark = pytest.mark.django_db

D = Decimal

FAMILY = {
    "ALREADY_INVOICED",
    "DUPLICATE_INVOICE_SUSPECTED",
    "PO_CEILING_EXCEEDED",
    "BILLING_PERIOD_MISSED",
}

FIXED_FEE = LineTerms(
    line_code="L1",
    kind="recurring_fixed",
    description="Managed service, monthly fee",
    unit_price=D("1000.00"),
    quantity=D("1"),
    gl_account="4000",
)
USAGE = LineTerms(
    line_code="U1",
    kind="usage",
    description="Platform usage",
    unit_price=D("1.00"),
    gl_account="4000",
)


def findings(draft: Draft, context: CheckContext, only: set[str] = FAMILY) -> list[Finding]:
    return run_checks(draft, context, only=only)


def codes(draft: Draft, context: CheckContext) -> list[str]:
    return [f.code for f in findings(draft, context)]


def issue(contract: Contract, period_label: str) -> Invoice:
    """Draft and issue ``contract`` for the period without running the checks."""
    plan = draft_for(contract, period_label)
    checked = CheckedPlan(plan, contract.pk, contract.seller_entity_id, findings=[])
    with transaction.atomic():
        [invoice] = invoices_save_drafts(checked=[checked], billing_run=None)
        invoices_issue(invoices=[invoice])
    return invoice


def credit(invoice: Invoice, quantities: dict[str, Decimal] | None = None) -> Invoice:
    return credit_note_issue(
        invoice=invoice,
        reason="Billed by mistake",
        issue_date=invoice.issue_date or dt.date(2026, 12, 1),
        quantities=quantities,
    )


def add_usage(contract: Contract, day: dt.date, quantity: str) -> None:
    usage_record_add(
        contract=contract,
        line_code="U1",
        service_date=day,
        quantity=D(quantity),
        external_id=f"{contract.number}-{day.isoformat()}",
    )


def move_to_other_seller(contract: Contract) -> None:
    other = seller_entity_create(
        code="acme-eu",
        name="Acme Services Europe GmbH",
        country="DE",
        vat_id="DE136695976",
        invoice_prefix="AEU-",
    )
    Contract.objects.filter(pk=contract.pk).update(seller_entity=other)
    contract.refresh_from_db()


# Clean invoices and the billing run


def test_clean_contract_has_no_coverage_finding() -> None:
    setup = make_contract(po_ceiling=D("12000.00"))
    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_consecutive_months_have_no_coverage_finding() -> None:
    setup = make_contract(po_ceiling=D("12000.00"))
    issue(setup.contract, "2026-09")
    issue(setup.contract, "2026-10")

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_billing_runs_warn_of_missed_period() -> None:
    setup = make_contract()

    billing_run_execute(period=parse_period("2026-08"))
    october = billing_run_execute(period=parse_period("2026-10"))
    november = billing_run_execute(period=parse_period("2026-11"))

    # A warning does not hold the draft, and September stays missed until it is billed.
    for result in (october, november):
        missed = [f for f in result.outcomes[0].findings if f.code in FAMILY]
        assert [f.code for f in missed] == ["BILLING_PERIOD_MISSED"]
        assert missed[0].subject == "billing period 2026-09"
    assert setup.contract.invoices.filter(status=Invoice.Status.ISSUED).count() == 3


def test_coverage_checks_run_no_queries(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    setup = make_contract(po_ceiling=D("2500.00"))
    other = make_contract("C-2")
    issue(setup.contract, "2026-08")
    credit(issue(setup.contract, "2026-10"))
    issue(other.contract, "2026-11")
    draft, context = checked_draft(setup.contract, "2026-11")

    with django_assert_num_queries(0):
        result = codes(draft, context)

    assert sorted(result) == [
        "BILLING_PERIOD_MISSED",
        "BILLING_PERIOD_MISSED",
        "DUPLICATE_INVOICE_SUSPECTED",
        "PO_CEILING_EXCEEDED",
    ]


# ALREADY_INVOICED


def test_already_invoiced_for_same_months() -> None:
    setup = make_contract()
    invoice = issue(setup.contract, "2026-11")

    draft, context = checked_draft(setup.contract, "2026-11")
    result = findings(draft, context, {"ALREADY_INVOICED"})

    assert [f.code for f in result] == ["ALREADY_INVOICED"]
    assert result[0].severity is Severity.BLOCK
    assert result[0].actual == f"issued invoice {invoice.number}"
    assert result[0].evidence["issued_periods"] == "2026-11-01 to 2026-11-30"
    assert result[0].amount_at_stake is not None
    assert result[0].amount_at_stake.amount == draft.document.totals.payable


def test_already_invoiced_by_draft_from_other_system() -> None:
    setup = make_contract()
    invoice = issue(setup.contract, "2026-11")
    draft, context = checked_draft(setup.contract, "2026-11")
    external_lines = [
        dataclasses.replace(line, item_id="", description="Services November 2026")
        for line in draft.document.lines
    ]
    external = Draft(
        document=dataclasses.replace(draft.document, lines=external_lines),
        contract_number=setup.contract.number,
        origin="upload",
    )

    result = findings(external, context, {"ALREADY_INVOICED"})

    assert [f.code for f in result] == ["ALREADY_INVOICED"]
    assert result[0].evidence["issued_invoices"] == invoice.number


def test_already_invoiced_quiet_after_full_credit() -> None:
    setup = make_contract()
    credit(issue(setup.contract, "2026-11"))

    draft, context = checked_draft(setup.contract, "2026-11")

    assert findings(draft, context, {"ALREADY_INVOICED"}) == []


def test_already_invoiced_after_partial_credit() -> None:
    setup = make_contract()
    credit(issue(setup.contract, "2026-11"), quantities={"1": D("0.5")})

    draft, context = checked_draft(setup.contract, "2026-11")

    # DUPLICATE_INVOICE_SUSPECTED leaves invoices of the same contract to ALREADY_INVOICED.
    assert [f.code for f in findings(draft, context)] == ["ALREADY_INVOICED"]


def test_usage_in_arrears_is_not_already_invoiced() -> None:
    # October's invoice bills October's fee in advance and September's usage in arrears. The
    # November draft bills November's fee and October's usage. Both documents cover October.
    setup = make_contract(lines=[FIXED_FEE, USAGE])
    add_usage(setup.contract, dt.date(2026, 9, 10), "250")
    add_usage(setup.contract, dt.date(2026, 10, 10), "250")
    october = issue(setup.contract, "2026-10")

    draft, context = checked_draft(setup.contract, "2026-11")

    assert (october.period_start, october.period_end) == (
        dt.date(2026, 9, 1),
        dt.date(2026, 10, 31),
    )
    assert october.payable == draft.document.totals.payable
    assert codes(draft, context) == []


# DUPLICATE_INVOICE_SUSPECTED


def test_duplicate_on_other_seller_entity() -> None:
    setup = make_contract()
    other = make_contract("C-2")
    move_to_other_seller(other.contract)
    duplicate = issue(other.contract, "2026-11")

    draft, context = checked_draft(setup.contract, "2026-11")
    result = findings(draft, context)

    assert [f.code for f in result] == ["DUPLICATE_INVOICE_SUSPECTED"]
    assert duplicate.number == "AEU-000001"
    assert result[0].evidence["duplicate_of"] == "AEU-000001"
    assert result[0].evidence["matched_on"] == "same customer PO and amount, same lines"
    assert result[0].evidence["seller_entities"] == "Acme Services Europe GmbH"
    assert result[0].amount_at_stake is not None
    assert result[0].amount_at_stake.amount == draft.document.totals.payable


def test_duplicate_across_year_boundary() -> None:
    # December 2026 is billed in advance on C-1 in fiscal year 2026, and as usage in arrears
    # on C-2 in January 2027, for the same amount under the same PO.
    setup = make_contract()
    december = issue(setup.contract, "2026-12")
    usage_contract = make_contract("C-2", lines=[USAGE])
    add_usage(usage_contract.contract, dt.date(2026, 12, 15), "1000")

    draft, context = checked_draft(usage_contract.contract, "2027-01")
    result = findings(draft, context)

    assert draft.document.issue_date == dt.date(2027, 1, 1)
    assert (draft.service_start, draft.service_end) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert [f.code for f in result] == ["DUPLICATE_INVOICE_SUSPECTED"]
    assert result[0].evidence["duplicate_of"] == december.number
    assert result[0].evidence["matched_on"] == "same customer PO and amount"


def test_duplicate_with_same_lines_under_other_po() -> None:
    setup = make_contract()
    other = make_contract("C-2", customer_po="PO-9000")
    issue(other.contract, "2026-11")

    draft, context = checked_draft(setup.contract, "2026-11")
    result = findings(draft, context)

    assert [f.code for f in result] == ["DUPLICATE_INVOICE_SUSPECTED"]
    assert result[0].evidence["matched_on"] == "same lines"


def test_flat_fee_in_consecutive_months_not_duplicate() -> None:
    setup = make_contract()
    other = make_contract("C-2")
    issue(setup.contract, "2026-10")
    issue(other.contract, "2026-10")

    draft, context = checked_draft(setup.contract, "2026-11")

    assert findings(draft, context, {"DUPLICATE_INVOICE_SUSPECTED"}) == []


def test_other_amount_and_po_not_duplicate() -> None:
    setup = make_contract()
    other_lines = [dataclasses.replace(FIXED_FEE, unit_price=D("1250.00"))]
    other = make_contract("C-2", customer_po="PO-9000", lines=other_lines)
    issue(other.contract, "2026-11")

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_other_customer_not_duplicate() -> None:
    setup = make_contract()
    other = make_contract("C-2", customer_code="CUST-2")
    issue(other.contract, "2026-11")

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_credited_duplicate_not_reported() -> None:
    setup = make_contract()
    other = make_contract("C-2")
    credit(issue(other.contract, "2026-11"))

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


# PO_CEILING_EXCEEDED


def test_po_ceiling_exceeded_by_draft() -> None:
    setup = make_contract(po_ceiling=D("2500.00"))
    issue(setup.contract, "2026-09")
    issue(setup.contract, "2026-10")

    draft, context = checked_draft(setup.contract, "2026-11")
    result = findings(draft, context)

    assert [f.code for f in result] == ["PO_CEILING_EXCEEDED"]
    assert result[0].severity is Severity.BLOCK
    assert result[0].expected == "2500.00 EUR"
    assert result[0].actual == "3000.00 EUR"
    assert result[0].amount_at_stake is not None
    assert result[0].amount_at_stake.amount == D("500.00")
    assert result[0].evidence["customer_po"] == "PO-7781"
    assert result[0].evidence["billed_before_draft"] == "2000.00 EUR"


def test_po_ceiling_reached_exactly_is_quiet() -> None:
    setup = make_contract(po_ceiling=D("3000.00"))
    issue(setup.contract, "2026-09")
    issue(setup.contract, "2026-10")

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_po_ceiling_nets_credit_notes() -> None:
    setup = make_contract(po_ceiling=D("2500.00"))
    issue(setup.contract, "2026-09")
    credit(issue(setup.contract, "2026-10"), quantities={"1": D("0.5")})

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_po_ceiling_counts_other_contracts_on_po() -> None:
    setup = make_contract(po_ceiling=D("2500.00"))
    other = make_contract("C-2")
    move_to_other_seller(other.contract)
    issue(other.contract, "2026-09")
    issue(other.contract, "2026-10")

    draft, context = checked_draft(setup.contract, "2026-11")
    result = findings(draft, context, {"PO_CEILING_EXCEEDED"})

    assert [f.actual for f in result] == ["3000.00 EUR"]


def test_po_ceiling_ignores_other_po() -> None:
    setup = make_contract(po_ceiling=D("2500.00"))
    other = make_contract("C-2", customer_po="PO-9000")
    issue(other.contract, "2026-09")
    issue(other.contract, "2026-10")

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_po_ceiling_already_exceeded_puts_draft_at_stake() -> None:
    setup = make_contract(po_ceiling=D("500.00"))
    issue(setup.contract, "2026-10")

    draft, context = checked_draft(setup.contract, "2026-11")
    result = findings(draft, context)

    assert [f.code for f in result] == ["PO_CEILING_EXCEEDED"]
    assert result[0].actual == "2000.00 EUR"
    assert result[0].amount_at_stake is not None
    assert result[0].amount_at_stake.amount == D("1000.00")


# BILLING_PERIOD_MISSED


def test_billing_period_missed_after_gap() -> None:
    setup = make_contract()
    issue(setup.contract, "2026-08")

    draft, context = checked_draft(setup.contract, "2026-11")
    result = findings(draft, context)

    assert [f.code for f in result] == ["BILLING_PERIOD_MISSED", "BILLING_PERIOD_MISSED"]
    assert [f.subject for f in result] == ["billing period 2026-09", "billing period 2026-10"]
    assert {f.severity for f in result} == {Severity.WARN}
    assert [f.amount_at_stake.amount for f in result if f.amount_at_stake] == [
        D("1000.00"),
        D("1000.00"),
    ]
    assert result[0].evidence["period_end"] == "2026-09-30"


def test_no_missed_period_before_first_invoice() -> None:
    # The schedule starts in January and nothing is issued, so Billguard cannot tell whether
    # January to October was billed by the system it replaced.
    setup = make_contract()

    draft, context = checked_draft(setup.contract, "2026-11")

    assert context.schedule is not None
    assert context.schedule.starts_on == dt.date(2026, 1, 1)
    assert codes(draft, context) == []


def test_credited_period_counts_as_missed() -> None:
    setup = make_contract()
    issue(setup.contract, "2026-09")
    credit(issue(setup.contract, "2026-10"))

    draft, context = checked_draft(setup.contract, "2026-11")
    result = findings(draft, context)

    assert [f.subject for f in result] == ["billing period 2026-10"]


def test_missed_periods_limited_to_twelve() -> None:
    setup = make_contract(effective_from=dt.date(2025, 1, 1))
    issue(setup.contract, "2025-01")

    draft, context = checked_draft(setup.contract, "2026-11")
    result = findings(draft, context, {"BILLING_PERIOD_MISSED"})

    assert len(result) == 12
    assert result[0].subject == "billing period 2025-11"
    assert result[-1].subject == "billing period 2026-10"


def test_missed_quarter_of_quarterly_schedule() -> None:
    quarterly_fee = dataclasses.replace(FIXED_FEE, unit_price=D("3000.00"))
    setup = make_contract(cadence="quarterly", lines=[quarterly_fee])
    issue(setup.contract, "2026-04")

    draft, context = checked_draft(setup.contract, "2026-10")
    result = findings(draft, context)

    assert [f.subject for f in result] == ["billing period 2026-Q3"]
    assert result[0].amount_at_stake is not None
    assert result[0].amount_at_stake.amount == D("3000.00")


def test_missed_period_prorates_price_change() -> None:
    setup = make_contract()
    issue(setup.contract, "2026-08")
    old_line = BillingScheduleLine.objects.get(schedule__contract=setup.contract)
    old_line.effective_to = dt.date(2026, 9, 16)
    old_line.save()
    BillingScheduleLine.objects.create(
        schedule=old_line.schedule,
        line_code="L1",
        kind="recurring_fixed",
        description=old_line.description,
        quantity=D("1"),
        unit_price=D("1200.00"),
        gl_account="4000",
        tax_category="S",
        tax_rate=D("19"),
        effective_from=dt.date(2026, 9, 16),
    )

    draft, context = checked_draft(setup.contract, "2026-11")
    result = findings(draft, context, {"BILLING_PERIOD_MISSED"})

    # September: 15 of 30 days at 1000.00 and 15 at 1200.00.
    assert [f.amount_at_stake.amount for f in result if f.amount_at_stake] == [
        D("1100.00"),
        D("1200.00"),
    ]


def test_usage_in_arrears_covers_no_fixed_fee() -> None:
    # The October invoice bills September's usage but only October's fee, so September is
    # missed. The December draft bills November's usage, and November's fee is missed too.
    setup = make_contract(lines=[FIXED_FEE, USAGE])
    add_usage(setup.contract, dt.date(2026, 9, 10), "250")
    issue(setup.contract, "2026-08")
    issue(setup.contract, "2026-10")
    add_usage(setup.contract, dt.date(2026, 11, 10), "250")

    draft, context = checked_draft(setup.contract, "2026-12")
    result = findings(draft, context, {"BILLING_PERIOD_MISSED"})

    assert [f.subject for f in result] == ["billing period 2026-09", "billing period 2026-11"]


def test_day_ranges_agree_with_pairwise_overlap() -> None:
    # BILLING_PERIOD_MISSED looks periods up in sorted ranges instead of comparing each period
    # with every span. Both give the same result, also for undated and reversed spans.
    rng = random.Random(20261205)
    first = dt.date(2026, 1, 1)

    def day() -> dt.date | None:
        return None if rng.random() < 0.1 else first + dt.timedelta(days=rng.randrange(120))

    for _ in range(300):
        spans = [coverage._Span("L", "", day(), day()) for _ in range(rng.randrange(6))]
        ranges = coverage._DayRanges(spans)
        for _ in range(10):
            start = first + dt.timedelta(days=rng.randrange(120))
            end = start + dt.timedelta(days=rng.randrange(40))
            expected = any(coverage._overlap((start, end), (s.start, s.end)) for s in spans)
            assert ranges.share_a_day_with(start, end) is expected, (spans, start, end)
