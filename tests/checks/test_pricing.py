import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from billguard.billing.credit import credit_note_issue
from billguard.billing.invoices import CheckedPlan, invoices_issue, invoices_save_drafts
from billguard.billing.models import Invoice
from billguard.checks.context import CheckContext, Draft
from billguard.checks.engine import run_checks
from billguard.checks.finding import Finding, Severity
from billguard.checks.selectors import ContextRequest, load_contexts
from billguard.domain.periods import parse_period
from billguard.registry.models import (
    Amendment,
    BillingSchedule,
    BillingScheduleLine,
    Contract,
    PriceList,
    PriceListItem,
)
from billguard.registry.services.amendments import (
    amendment_approve,
    amendment_draft,
    amendment_sign,
)
from billguard.registry.services.documents import document_store
from billguard.registry.services.parties import bill_to_create
from billguard.registry.services.schedules import schedule_apply_amendment
from billguard.registry.services.sources import milestone_accept, timesheet_add, usage_record_add
from billguard.registry.terms import DiscountTerms, LineTerms, PriceChangeTerms
from tests.factories import checked_draft, draft_for, make_contract

pytestmark = pytest.mark.django_db

D = Decimal

FAMILY = {
    "PRICE_MISMATCH",
    "AMENDMENT_NOT_APPLIED",
    "AMENDMENT_PENDING",
    "ESCALATION_NOT_APPLIED",
    "MINIMUM_COMMITMENT_SHORTFALL",
    "CONTRACT_EXPIRED",
    "DISCOUNT_NOT_APPROVED",
    "QUANTITY_MISMATCH",
    "MILESTONE_NOT_ACCEPTED",
    "MILESTONE_ALREADY_BILLED",
}


# ---------------------------------------------------------------------------------------------
# Helpers


def fixed_line(**changes: object) -> LineTerms:
    line = LineTerms(
        line_code="L1",
        kind="recurring_fixed",
        description="Managed service, monthly fee",
        unit_price=D("1000.00"),
        quantity=D("1"),
        gl_account="4000",
    )
    for name, value in changes.items():
        setattr(line, name, value)
    return line


def usage_line() -> LineTerms:
    return LineTerms(
        line_code="U1",
        kind="usage",
        description="API calls",
        unit_price=D("0.50"),
        gl_account="4100",
    )


def hours_line() -> LineTerms:
    return LineTerms(
        line_code="T1",
        kind="time_and_materials",
        description="Consulting hours",
        unit_price=D("150.00"),
        unit_code="HUR",
        gl_account="4100",
    )


def milestone_line() -> LineTerms:
    return LineTerms(
        line_code="M1",
        kind="milestone",
        description="Go-live milestone",
        unit_price=D("5000.00"),
        quantity=D("1"),
        gl_account="4100",
    )


def findings(draft: Draft, context: CheckContext) -> list[Finding]:
    return run_checks(draft, context, only=FAMILY)


def codes(draft: Draft, context: CheckContext) -> list[str]:
    return sorted(f.code for f in findings(draft, context))


def only_finding(draft: Draft, context: CheckContext, code: str) -> Finding:
    found = findings(draft, context)
    assert [f.code for f in found] == [code], [f.as_dict() for f in found]
    return found[0]


def amount(finding: Finding) -> Decimal:
    assert finding.amount_at_stake is not None
    assert finding.amount_at_stake.currency == "EUR"
    return finding.amount_at_stake.amount


def schedule_line(contract: Contract, code: str = "L1") -> BillingScheduleLine:
    return BillingScheduleLine.objects.get(schedule__contract=contract, line_code=code)


def change_schedule_line(contract: Contract, code: str, **fields: object) -> None:
    BillingScheduleLine.objects.filter(schedule__contract=contract, line_code=code).update(**fields)


def reloaded_context(contract: Contract, draft: Draft, period_label: str) -> CheckContext:
    """The context of ``draft`` loaded again, as when a held draft is checked after a fix."""
    period = parse_period(period_label)
    schedule = BillingSchedule.objects.get(contract=contract)
    request = ContextRequest(
        contract_id=contract.pk,
        bill_to_id=schedule.bill_to_id,
        service_start=draft.service_start,
        service_end=draft.service_end,
    )
    return load_contexts([request], as_of=period.start, period=period)[0]


def amend(
    contract: Contract,
    number: str,
    effective_from: dt.date,
    changes: dict[str, object],
    *,
    approve: bool = True,
    sign: bool = True,
    apply_to_schedule: bool = False,
) -> Amendment:
    """Draft, sign and approve an amendment as the registry services do."""
    amendment = amendment_draft(
        contract=contract, number=number, effective_from=effective_from, changes=changes
    )
    if sign:
        document = document_store(
            content=f"Amendment {number} of {contract.number}, signed.".encode(),
            kind="amendment",
            family=f"AMD-{contract.number}-{number}",
            title=f"Amendment {number}",
            signed_on=effective_from - dt.timedelta(days=10),
            signer="Jane Buyer",
        )
        amendment_sign(
            amendment=amendment,
            document=document,
            signed_on=effective_from - dt.timedelta(days=10),
        )
    if sign and approve:
        amendment_approve(
            amendment=amendment,
            approved_by="controller",
            approved_on=effective_from - dt.timedelta(days=5),
        )
    if apply_to_schedule:
        amendment.refresh_from_db()
        schedule_apply_amendment(amendment=amendment)
    amendment.refresh_from_db()
    return amendment


def add_usage(contract: Contract, day: dt.date, quantity: str, key: str = "") -> None:
    usage_record_add(
        contract=contract,
        line_code="U1",
        service_date=day,
        quantity=D(quantity),
        external_id=f"{contract.number}-U1-{day}-{key}",
    )


def add_hours(contract: Contract, day: dt.date, hours: str, key: str = "") -> None:
    timesheet_add(
        contract=contract,
        line_code="T1",
        work_date=day,
        hours=D(hours),
        person="Ada Consultant",
        external_id=f"{contract.number}-T1-{day}-{key}",
    )


def bill_milestone_on(contract: Contract, day: dt.date) -> None:
    change_schedule_line(contract, "M1", bill_on=day)


def split_schedule_line(contract: Contract, at: dt.date, unit_price: Decimal) -> None:
    """End L1 of the schedule the day before ``at`` and bill it at ``unit_price`` from then."""
    line = schedule_line(contract)
    line.effective_to = at
    line.save()
    line.pk = None
    line.effective_from = at
    line.effective_to = None
    line.unit_price = unit_price
    line.save()


def issue(contract: Contract, period_label: str) -> Invoice:
    """Draft and issue ``contract`` for the period with the billing services, unchecked."""
    plan = draft_for(contract, period_label)
    checked = CheckedPlan(plan, contract.pk, contract.seller_entity_id, findings=[])
    with transaction.atomic():
        [invoice] = invoices_save_drafts(checked=[checked], billing_run=None)
        invoices_issue(invoices=[invoice])
    return invoice


def make_mixed_contract(**version_fields: object) -> Contract:
    """A clean contract with fixed, usage, hours and milestone lines, billed in 2026-11."""
    setup = make_contract(
        lines=[fixed_line(), usage_line(), hours_line(), milestone_line()], **version_fields
    )
    contract = setup.contract
    add_usage(contract, dt.date(2026, 10, 3), "1200")
    add_usage(contract, dt.date(2026, 10, 17), "800")
    add_hours(contract, dt.date(2026, 10, 6), "7.5")
    add_hours(contract, dt.date(2026, 10, 7), "4")
    bill_milestone_on(contract, dt.date(2026, 11, 20))
    milestone_accept(
        contract=contract,
        line_code="M1",
        accepted_on=dt.date(2026, 11, 12),
        accepted_by="Jane Buyer",
    )
    return contract


# ---------------------------------------------------------------------------------------------
# Clean drafts


def test_clean_contract_has_no_pricing_finding():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_clean_mixed_contract_has_no_pricing_finding():
    contract = make_mixed_contract(
        discounts=[DiscountTerms(D("10"), line_code="L1", approval_reference="APR-100")],
        minimum_commitment=D("2500.00"),
        end_date=dt.date(2027, 6, 30),
    )

    draft, context = checked_draft(contract, "2026-11")

    assert sorted(line.item_id for line in draft.document.lines) == ["L1", "M1", "T1", "U1"]
    assert codes(draft, context) == []


def test_checks_read_context_without_queries(django_assert_num_queries):
    contract = make_mixed_contract(
        discounts=[DiscountTerms(D("10"), line_code="L1", approval_reference="APR-100")],
        minimum_commitment=D("5000.00"),
        price_changes=[
            PriceChangeTerms("L1", dt.date(2026, 7, 1), "fixed_uplift", uplift_percent=D("5"))
        ],
    )
    amend(contract, "A-1", dt.date(2026, 6, 1), {"lines": {"U1": {"unit_price": "0.60"}}})
    amend(contract, "A-2", dt.date(2026, 11, 1), {"customer_po": "PO-9000"}, approve=False)
    issue(contract, "2026-10")
    draft, context = checked_draft(contract, "2026-11")

    with django_assert_num_queries(0):
        found = findings(draft, context)

    assert found, "the broken contract must give findings, or the test proves nothing"


# ---------------------------------------------------------------------------------------------
# PRICE_MISMATCH


def test_price_mismatch_when_schedule_price_differs():
    setup = make_contract()
    change_schedule_line(setup.contract, "L1", unit_price=D("950.00"))

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "PRICE_MISMATCH")

    assert finding.subject == "line 1 (L1)"
    assert finding.expected == "1000.00"
    assert finding.actual == "950.00"
    assert amount(finding) == D("50.00")
    assert finding.evidence["contract"] == "C-1"
    assert finding.evidence["service_date"] == "2026-11-01"


def test_price_mismatch_over_billing_is_negative():
    setup = make_contract(lines=[fixed_line(quantity=D("2"))])
    change_schedule_line(setup.contract, "L1", unit_price=D("1100.00"))

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "PRICE_MISMATCH")

    assert amount(finding) == D("-200.00")


def test_price_mismatch_against_price_list_in_force():
    price_list = PriceList.objects.create(code="EUR-2026", name="List 2026", currency="EUR")
    PriceListItem.objects.create(
        price_list=price_list,
        product_code="MS-STD",
        unit_price=D("1000.00"),
        valid_from=dt.date(2026, 1, 1),
        valid_to=dt.date(2026, 7, 1),
    )
    PriceListItem.objects.create(
        price_list=price_list,
        product_code="MS-STD",
        unit_price=D("1100.00"),
        valid_from=dt.date(2026, 7, 1),
    )
    setup = make_contract(
        lines=[fixed_line(unit_price=None, product_code="MS-STD")], price_list_id=price_list.pk
    )

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "PRICE_MISMATCH")

    assert finding.expected == "1100.00"
    assert finding.actual == "1000.00"
    assert finding.evidence["price_source"].startswith(f"price list {price_list.pk}")
    assert amount(finding) == D("100.00")


def test_price_list_price_billed_is_quiet():
    price_list = PriceList.objects.create(code="EUR-2026", name="List 2026", currency="EUR")
    PriceListItem.objects.create(
        price_list=price_list,
        product_code="MS-STD",
        unit_price=D("1000.00"),
        valid_from=dt.date(2026, 1, 1),
    )
    setup = make_contract(
        lines=[fixed_line(unit_price=None, product_code="MS-STD")], price_list_id=price_list.pk
    )

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_price_mismatch_on_usage_line():
    setup = make_contract(lines=[usage_line()], contract_type="usage")
    add_usage(setup.contract, dt.date(2026, 10, 9), "1000")
    change_schedule_line(setup.contract, "U1", unit_price=D("0.45"))

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "PRICE_MISMATCH")

    assert finding.evidence["service_date"] == "2026-10-01"
    assert amount(finding) == D("50.00")


# ---------------------------------------------------------------------------------------------
# ESCALATION_NOT_APPLIED


def uplift(day: dt.date, percent: str = "5") -> PriceChangeTerms:
    return PriceChangeTerms("L1", day, "fixed_uplift", uplift_percent=D(percent))


def test_escalation_not_applied_replaces_price_mismatch():
    setup = make_contract(price_changes=[uplift(dt.date(2026, 7, 1))])

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "ESCALATION_NOT_APPLIED")

    assert finding.expected == "1050.00"
    assert finding.actual == "1000.00"
    assert amount(finding) == D("50.00")
    assert finding.evidence["price_change_date"] == "2026-07-01"
    assert finding.evidence["uplift_percent"] == "5"


def test_escalation_index_with_recorded_value():
    index_change = PriceChangeTerms(
        "L1",
        dt.date(2026, 7, 1),
        "index",
        index_name="CPI DE",
        index_base_value=D("100.0"),
        index_value=D("104.0"),
    )
    setup = make_contract(price_changes=[index_change])

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "ESCALATION_NOT_APPLIED")

    assert finding.expected == "1040.00"
    assert finding.evidence["index_name"] == "CPI DE"
    assert amount(finding) == D("40.00")


def test_escalation_index_without_value_is_quiet():
    index_change = PriceChangeTerms(
        "L1", dt.date(2026, 7, 1), "index", index_name="CPI DE", index_base_value=D("100.0")
    )
    setup = make_contract(price_changes=[index_change])

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_escalation_applied_in_schedule_is_quiet():
    setup = make_contract(price_changes=[uplift(dt.date(2026, 7, 1))])
    split_schedule_line(setup.contract, dt.date(2026, 7, 1), D("1050.00"))

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_escalation_after_service_date_is_quiet():
    setup = make_contract(price_changes=[uplift(dt.date(2027, 1, 1))])

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_second_escalation_missing_names_it():
    setup = make_contract(
        price_changes=[uplift(dt.date(2026, 3, 1)), uplift(dt.date(2026, 9, 1), "10")]
    )
    split_schedule_line(setup.contract, dt.date(2026, 3, 1), D("1050.00"))

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "ESCALATION_NOT_APPLIED")

    assert finding.expected == "1155.00"
    assert finding.actual == "1050.00"
    assert finding.evidence["price_change_date"] == "2026-09-01"


def test_escalation_inside_service_period_is_prorated():
    setup = make_contract(price_changes=[uplift(dt.date(2026, 11, 15))])

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "ESCALATION_NOT_APPLIED")

    assert finding.expected == "1050.00 from 2026-11-15"
    # 16 of the 30 days of November bill the old price: 50.00 x 16 / 30
    assert amount(finding) == D("26.67")


def test_other_price_during_escalation_mismatches():
    setup = make_contract(price_changes=[uplift(dt.date(2026, 7, 1))])
    change_schedule_line(setup.contract, "L1", unit_price=D("990.00"))

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "PRICE_MISMATCH")

    assert finding.expected == "1050.00"
    assert amount(finding) == D("60.00")


# ---------------------------------------------------------------------------------------------
# AMENDMENT_NOT_APPLIED


def test_amendment_not_applied_replaces_price_mismatch():
    setup = make_contract()
    amendment = amend(
        setup.contract, "A-1", dt.date(2026, 6, 1), {"lines": {"L1": {"unit_price": "1200.00"}}}
    )

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "AMENDMENT_NOT_APPLIED")

    assert finding.subject == "line 1 (L1)"
    assert finding.expected == "unit price 1200.00"
    assert finding.actual == "unit price 1000.00"
    assert amount(finding) == D("200.00")
    assert finding.evidence["amendment"] == "A-1"
    assert amendment.document is not None
    assert finding.evidence["amendment_sha256"] == amendment.document.sha256
    assert finding.evidence["contract_version"] == "2"


def test_amendment_applied_to_schedule_is_quiet():
    setup = make_contract()
    amend(
        setup.contract,
        "A-1",
        dt.date(2026, 6, 1),
        {"lines": {"L1": {"unit_price": "1200.00"}}},
        apply_to_schedule=True,
    )

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_amendment_quantity_not_quantity_mismatch():
    setup = make_contract()
    amend(setup.contract, "A-1", dt.date(2026, 6, 1), {"lines": {"L1": {"quantity": "3"}}})

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "AMENDMENT_NOT_APPLIED")

    assert finding.expected == "quantity 3"
    assert finding.actual == "quantity 1"
    assert amount(finding) == D("2000.00")


def test_amendment_customer_po_not_applied():
    setup = make_contract()
    amend(setup.contract, "A-1", dt.date(2026, 6, 1), {"customer_po": "PO-9000"})

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "AMENDMENT_NOT_APPLIED")

    assert finding.subject == "customer PO"
    assert finding.expected == "PO-9000"
    assert finding.actual == "PO-7781"
    assert amount(finding) == draft.document.totals.payable


def test_amendment_bill_to_not_applied():
    setup = make_contract()
    new_bill_to = bill_to_create(
        party=setup.party,
        code="CUST-1-HQ",
        name="Northwind Traders GmbH",
        country="DE",
        tax_id="DE123456788",
        street="Leopoldstrasse 1",
        city="Munich",
        postcode="80802",
        contact_email="ap-hq@northwind.example",
    )
    amend(setup.contract, "A-1", dt.date(2026, 6, 1), {"bill_to_id": new_bill_to.pk})

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "AMENDMENT_NOT_APPLIED")

    assert finding.subject == "bill-to"
    assert finding.expected == "CUST-1-HQ"
    assert finding.actual == "CUST-1-BT"


def test_amendment_removing_line_not_applied():
    setup = make_contract(lines=[fixed_line(), fixed_line(line_code="L2", unit_price=D("300"))])
    amend(setup.contract, "A-1", dt.date(2026, 6, 1), {"lines": {"L2": None}})

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "AMENDMENT_NOT_APPLIED")

    assert finding.subject == "line 2 (L2)"
    assert finding.expected == "no L2"
    assert amount(finding) == D("-300.00")


def test_amendment_inside_service_period_not_applied():
    setup = make_contract()
    amend(
        setup.contract, "A-1", dt.date(2026, 11, 16), {"lines": {"L1": {"unit_price": "1200.00"}}}
    )

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "AMENDMENT_NOT_APPLIED")

    assert finding.expected == "from 2026-11-16: unit price 1200.00, quantity 1"
    # 15 of the 30 days of November bill the old price: 200.00 x 15 / 30
    assert amount(finding) == D("100.00")


def test_amendment_inside_service_period_applied_is_quiet():
    setup = make_contract()
    amend(
        setup.contract,
        "A-1",
        dt.date(2026, 11, 16),
        {"lines": {"L1": {"unit_price": "1200.00"}}},
        apply_to_schedule=True,
    )

    draft, context = checked_draft(setup.contract, "2026-11")

    assert len(draft.document.lines) == 2
    assert codes(draft, context) == []


def test_amendment_after_period_is_quiet():
    setup = make_contract()
    amend(setup.contract, "A-1", dt.date(2026, 12, 1), {"lines": {"L1": {"unit_price": "1200"}}})

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_earliest_missing_amendment_is_named():
    setup = make_contract()
    amend(setup.contract, "A-1", dt.date(2026, 4, 1), {"lines": {"L1": {"unit_price": "1100"}}})
    amend(setup.contract, "A-2", dt.date(2026, 8, 1), {"lines": {"L1": {"unit_price": "1200"}}})

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "AMENDMENT_NOT_APPLIED")

    assert finding.evidence["amendment"] == "A-1"
    assert finding.expected == "unit price 1200.00"
    assert amount(finding) == D("200.00")


def test_price_and_quantity_amendments_give_one_finding():
    setup = make_contract()
    amend(setup.contract, "A-1", dt.date(2026, 4, 1), {"lines": {"L1": {"unit_price": "1100"}}})
    amend(setup.contract, "A-2", dt.date(2026, 8, 1), {"lines": {"L1": {"quantity": "2"}}})

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "AMENDMENT_NOT_APPLIED")

    assert finding.evidence["amendment"] == "A-1"
    assert finding.expected == "unit price 1100.00, quantity 2"
    assert finding.actual == "unit price 1000.00, quantity 1"
    assert amount(finding) == D("1200.00")


def test_wrong_price_after_amendment_mismatches():
    setup = make_contract()
    amend(
        setup.contract,
        "A-1",
        dt.date(2026, 6, 1),
        {"lines": {"L1": {"unit_price": "1200.00"}}},
        apply_to_schedule=True,
    )
    BillingScheduleLine.objects.filter(
        schedule__contract=setup.contract, line_code="L1", effective_to__isnull=True
    ).update(unit_price=D("1150.00"))

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "PRICE_MISMATCH")

    assert finding.expected == "1200.00"
    assert finding.actual == "1150.00"


# ---------------------------------------------------------------------------------------------
# AMENDMENT_PENDING


def test_amendment_pending_warns_with_change_in_amount():
    setup = make_contract()
    amendment = amend(
        setup.contract,
        "A-1",
        dt.date(2026, 11, 1),
        {"lines": {"L1": {"unit_price": "1200.00"}}},
        approve=False,
    )

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "AMENDMENT_PENDING")

    assert finding.severity is Severity.WARN
    assert finding.subject == "amendment A-1"
    assert finding.expected == "L1 1 x 1200.00"
    assert finding.actual == "L1 1 x 1000.00"
    assert amount(finding) == D("200.00")
    assert amendment.document is not None
    assert finding.evidence["amendment_sha256"] == amendment.document.sha256


def test_amendment_pending_inside_period_is_prorated():
    setup = make_contract()
    amend(
        setup.contract,
        "A-1",
        dt.date(2026, 11, 16),
        {"lines": {"L1": {"unit_price": "1200.00"}}},
        approve=False,
    )

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "AMENDMENT_PENDING")

    assert amount(finding) == D("100.00")


def test_amendment_pending_tax_rate_change():
    setup = make_contract()
    amend(setup.contract, "A-1", dt.date(2026, 11, 1), {"tax_rate": "7"}, approve=False)

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "AMENDMENT_PENDING")

    assert finding.expected == "L1 tax rate 7%"
    assert amount(finding) == D("-120.00")


def test_amendment_pending_minimum_commitment():
    setup = make_contract()
    amend(
        setup.contract, "A-1", dt.date(2026, 11, 1), {"minimum_commitment": "1500"}, approve=False
    )

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "AMENDMENT_PENDING")

    assert amount(finding) == D("500.00")


def test_amendment_pending_line_removal():
    setup = make_contract(lines=[fixed_line(), fixed_line(line_code="L2", unit_price=D("300"))])
    amend(setup.contract, "A-1", dt.date(2026, 11, 1), {"lines": {"L2": None}}, approve=False)

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "AMENDMENT_PENDING")

    assert finding.expected == "L2 removed"
    assert amount(finding) == D("-300.00")


def test_amendment_pending_with_unreadable_changes():
    setup = make_contract()
    amend(
        setup.contract,
        "A-1",
        dt.date(2026, 11, 1),
        {"minimum_commitment": "one thousand"},
        approve=False,
    )

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "AMENDMENT_PENDING")

    assert "cannot be read" in finding.message
    assert finding.amount_at_stake is None


def test_amendment_drafted_only_is_quiet():
    setup = make_contract()
    amend(
        setup.contract,
        "A-1",
        dt.date(2026, 11, 1),
        {"lines": {"L1": {"unit_price": "1200.00"}}},
        sign=False,
    )

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_amendment_pending_after_period_is_quiet():
    setup = make_contract()
    amend(
        setup.contract,
        "A-1",
        dt.date(2026, 12, 1),
        {"lines": {"L1": {"unit_price": "1200.00"}}},
        approve=False,
    )

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_amendment_pending_without_amount_change_is_quiet():
    setup = make_contract()
    amend(
        setup.contract,
        "A-1",
        dt.date(2026, 11, 1),
        {"escalation_contact": "billing@northwind.example"},
        approve=False,
    )

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


# ---------------------------------------------------------------------------------------------
# MINIMUM_COMMITMENT_SHORTFALL


def make_usage_contract(records: list[str], **version_fields: object) -> Contract:
    setup = make_contract(
        lines=[usage_line()],
        contract_type="usage",
        minimum_commitment=D("500.00"),
        **version_fields,
    )
    for index, quantity in enumerate(records):
        add_usage(setup.contract, dt.date(2026, 10, 5 + index), quantity)
    return setup.contract


def add_true_up(contract: Contract, unit_price: str) -> None:
    BillingScheduleLine.objects.create(
        schedule=BillingSchedule.objects.get(contract=contract),
        line_code="TRUE-UP",
        kind="recurring_fixed",
        description="Minimum commitment true-up, October",
        quantity=D("1"),
        unit_price=D(unit_price),
        gl_account="4100",
        tax_category="S",
        tax_rate=D("19"),
        effective_from=dt.date(2026, 11, 1),
        effective_to=dt.date(2026, 12, 1),
    )


def test_minimum_commitment_shortfall_without_true_up():
    contract = make_usage_contract(["250", "150"])

    draft, context = checked_draft(contract, "2026-11")
    finding = only_finding(draft, context, "MINIMUM_COMMITMENT_SHORTFALL")

    assert finding.expected == "at least 500.00"
    assert finding.actual == "200.00 billed, 0.00 true-up"
    assert amount(finding) == D("300.00")


def test_minimum_commitment_met_is_quiet():
    contract = make_usage_contract(["700", "500"])

    draft, context = checked_draft(contract, "2026-11")

    assert codes(draft, context) == []


def test_minimum_commitment_true_up_line_is_quiet():
    contract = make_usage_contract(["400"])
    add_true_up(contract, "300.00")

    draft, context = checked_draft(contract, "2026-11")

    assert codes(draft, context) == []


def test_minimum_commitment_short_true_up():
    contract = make_usage_contract(["400"])
    add_true_up(contract, "100.00")

    draft, context = checked_draft(contract, "2026-11")
    finding = only_finding(draft, context, "MINIMUM_COMMITMENT_SHORTFALL")

    assert amount(finding) == D("200.00")


def test_minimum_commitment_counts_fixed_lines():
    setup = make_contract(
        lines=[fixed_line(unit_price=D("400.00")), usage_line()],
        minimum_commitment=D("500.00"),
    )
    add_usage(setup.contract, dt.date(2026, 10, 5), "100")

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "MINIMUM_COMMITMENT_SHORTFALL")

    assert amount(finding) == D("50.00")


# ---------------------------------------------------------------------------------------------
# CONTRACT_EXPIRED


def test_contract_expired_when_schedule_bills_past_end():
    setup = make_contract(end_date=dt.date(2026, 10, 31))
    BillingSchedule.objects.filter(contract=setup.contract).update(ends_on=None)

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "CONTRACT_EXPIRED")

    assert finding.expected == "service on or before 2026-10-31"
    assert finding.actual == "2026-11-01 to 2026-11-30"
    assert amount(finding) == D("1000.00")


def test_contract_expired_mid_period_bills_share():
    setup = make_contract(end_date=dt.date(2026, 11, 15))
    BillingSchedule.objects.filter(contract=setup.contract).update(ends_on=None)

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "CONTRACT_EXPIRED")

    assert amount(finding) == D("500.00")


def test_contract_auto_renewed_is_quiet():
    setup = make_contract(
        end_date=dt.date(2025, 12, 31),
        effective_from=dt.date(2025, 1, 1),
        renewal_terms="auto_renew",
        renewal_months=6,
    )

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_contract_auto_renew_without_months_expires():
    setup = make_contract(end_date=dt.date(2026, 10, 31), renewal_terms="auto_renew")

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == ["CONTRACT_EXPIRED"]


def test_contract_extended_by_amendment_is_quiet():
    setup = make_contract(end_date=dt.date(2026, 10, 31))
    amend(
        setup.contract,
        "A-1",
        dt.date(2026, 10, 1),
        {"end_date": "2027-10-31"},
        apply_to_schedule=True,
    )

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


# ---------------------------------------------------------------------------------------------
# DISCOUNT_NOT_APPROVED


def test_discount_approved_is_quiet():
    setup = make_contract(
        discounts=[DiscountTerms(D("10"), line_code="L1", approval_reference="APR-100")]
    )

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_discount_without_approval_reference():
    setup = make_contract(discounts=[DiscountTerms(D("10"), line_code="L1")])

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "DISCOUNT_NOT_APPROVED")

    assert finding.actual == "10% (100.00)"
    assert amount(finding) == D("100.00")


def test_discount_expired_on_service_date():
    expired = DiscountTerms(
        D("10"), line_code="L1", approval_reference="APR-100", expires_on=dt.date(2026, 6, 30)
    )
    setup = make_contract(discounts=[expired])

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "DISCOUNT_NOT_APPROVED")

    assert finding.expected == "no discount"
    assert finding.evidence["discount_expired_on"] == "2026-06-30"
    assert amount(finding) == D("100.00")


def test_discount_above_approved_percent():
    setup = make_contract(
        discounts=[DiscountTerms(D("10"), line_code="L1", approval_reference="APR-100")]
    )
    change_schedule_line(setup.contract, "L1", discount_percent=D("15"))

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "DISCOUNT_NOT_APPROVED")

    assert finding.expected == "at most 10%"
    assert amount(finding) == D("50.00")


def test_discount_not_in_version():
    setup = make_contract()
    change_schedule_line(setup.contract, "L1", discount_percent=D("5"))

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "DISCOUNT_NOT_APPROVED")

    assert finding.expected == "no discount"
    assert amount(finding) == D("50.00")


def test_general_discount_covers_line():
    setup = make_contract(discounts=[DiscountTerms(D("10"), approval_reference="APR-100")])

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_proration_allowance_is_not_discount():
    setup = make_contract(schedule_starts_on=dt.date(2026, 11, 15))

    draft, context = checked_draft(setup.contract, "2026-11")

    reasons = [a.reason for a in draft.document.lines[0].allowances_charges]
    assert reasons == ["Proration: 16 of 30 days"]
    assert codes(draft, context) == []


# ---------------------------------------------------------------------------------------------
# QUANTITY_MISMATCH


def test_quantity_mismatch_fixed_line():
    setup = make_contract()
    change_schedule_line(setup.contract, "L1", quantity=D("3"))

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "QUANTITY_MISMATCH")

    assert finding.expected == "1"
    assert finding.actual == "3"
    assert amount(finding) == D("-2000.00")


def test_quantity_mismatch_duplicated_schedule_line():
    setup = make_contract()
    duplicate = schedule_line(setup.contract)
    duplicate.pk = None
    duplicate.save()

    draft, context = checked_draft(setup.contract, "2026-11")
    finding = only_finding(draft, context, "QUANTITY_MISMATCH")

    assert finding.subject == "lines 1, 2 (L1)"
    assert finding.actual == "2"
    assert amount(finding) == D("-1000.00")


def test_quantity_mismatch_late_usage_record():
    setup = make_contract(lines=[usage_line()], contract_type="usage")
    add_usage(setup.contract, dt.date(2026, 10, 9), "1000")
    draft, _ = checked_draft(setup.contract, "2026-11")
    add_usage(setup.contract, dt.date(2026, 10, 30), "200", key="late")

    finding = only_finding(
        draft, reloaded_context(setup.contract, draft, "2026-11"), "QUANTITY_MISMATCH"
    )

    assert finding.expected == "1200"
    assert finding.actual == "1000"
    assert finding.evidence["service_period"] == "2026-10-01 to 2026-10-31"
    assert amount(finding) == D("100.00")


def test_usage_record_outside_service_period_is_quiet():
    setup = make_contract(lines=[usage_line()], contract_type="usage")
    add_usage(setup.contract, dt.date(2026, 10, 9), "1000")
    draft, _ = checked_draft(setup.contract, "2026-11")
    add_usage(setup.contract, dt.date(2026, 11, 2), "200", key="next")

    context = reloaded_context(setup.contract, draft, "2026-11")

    assert codes(draft, context) == []


def test_quantity_mismatch_late_timesheet():
    setup = make_contract(lines=[hours_line()])
    add_hours(setup.contract, dt.date(2026, 10, 6), "8")
    draft, _ = checked_draft(setup.contract, "2026-11")
    add_hours(setup.contract, dt.date(2026, 10, 7), "2.5")

    finding = only_finding(
        draft, reloaded_context(setup.contract, draft, "2026-11"), "QUANTITY_MISMATCH"
    )

    assert finding.expected == "10.5"
    assert finding.actual == "8"
    assert amount(finding) == D("375.00")


# ---------------------------------------------------------------------------------------------
# MILESTONE_NOT_ACCEPTED and MILESTONE_ALREADY_BILLED


def make_milestone_contract() -> Contract:
    setup = make_contract(lines=[fixed_line(), milestone_line()], contract_type="project")
    return setup.contract


def test_milestone_not_accepted():
    contract = make_milestone_contract()
    bill_milestone_on(contract, dt.date(2026, 11, 20))

    draft, context = checked_draft(contract, "2026-11")
    finding = only_finding(draft, context, "MILESTONE_NOT_ACCEPTED")

    assert finding.subject == "line 2 (M1)"
    assert finding.actual == "no acceptance"
    assert amount(finding) == D("5000.00")


def test_milestone_accepted_after_service_end():
    contract = make_milestone_contract()
    bill_milestone_on(contract, dt.date(2026, 11, 20))
    milestone_accept(
        contract=contract, line_code="M1", accepted_on=dt.date(2026, 12, 3), accepted_by="Jane"
    )

    draft, context = checked_draft(contract, "2026-11")
    finding = only_finding(draft, context, "MILESTONE_NOT_ACCEPTED")

    assert finding.expected == "accepted on or before 2026-11-30"
    assert finding.actual == "accepted on 2026-12-03 by Jane"


def test_milestone_accepted_is_quiet():
    contract = make_milestone_contract()
    bill_milestone_on(contract, dt.date(2026, 11, 20))
    milestone_accept(
        contract=contract, line_code="M1", accepted_on=dt.date(2026, 11, 18), accepted_by="Jane"
    )

    draft, context = checked_draft(contract, "2026-11")

    assert codes(draft, context) == []


def test_milestone_already_billed_on_issued_invoice():
    contract = make_milestone_contract()
    bill_milestone_on(contract, dt.date(2026, 10, 20))
    milestone_accept(
        contract=contract, line_code="M1", accepted_on=dt.date(2026, 10, 15), accepted_by="Jane"
    )
    earlier = issue(contract, "2026-10")
    bill_milestone_on(contract, dt.date(2026, 11, 20))

    draft, context = checked_draft(contract, "2026-11")
    finding = only_finding(draft, context, "MILESTONE_ALREADY_BILLED")

    assert finding.subject == "line 2 (M1)"
    assert finding.evidence["earlier_invoices"] == earlier.number
    assert amount(finding) == D("5000.00")


def test_milestone_credited_is_quiet():
    contract = make_milestone_contract()
    bill_milestone_on(contract, dt.date(2026, 10, 20))
    milestone_accept(
        contract=contract, line_code="M1", accepted_on=dt.date(2026, 10, 15), accepted_by="Jane"
    )
    earlier = issue(contract, "2026-10")
    credit_note_issue(
        invoice=earlier, reason="Milestone billed before go-live", issue_date=dt.date(2026, 10, 25)
    )
    bill_milestone_on(contract, dt.date(2026, 11, 20))

    draft, context = checked_draft(contract, "2026-11")

    assert codes(draft, context) == []
