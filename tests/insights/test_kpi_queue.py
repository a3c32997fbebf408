"""Figures of the exception queue and of elapsed time, against cases worked out by hand.

Every contract of tests.factories.make_contract bills 1000.00 EUR plus 19 % VAT a month, so
each draft's payable is 1190.00 EUR; a contract without its SOW is held as SOW_MISSING.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from billguard.billing.exceptions import exception_resolve
from billguard.billing.models import Invoice
from billguard.billing.run import billing_run_execute
from billguard.checks.models import StoredFinding
from billguard.controls.models import ChangeRequest
from billguard.controls.override import exception_override_request
from billguard.controls.requests import change_request_approve, change_request_create
from billguard.domain.periods import parse_period
from billguard.insights import kpi_exceptions, kpi_times
from billguard.insights.kpis import invoice_figures, months_ending
from billguard.registry.models import Amendment, ContractVersion
from tests.acting_users import make_user
from tests.factories import make_contract, make_sow

pytestmark = pytest.mark.django_db

D = Decimal
NOVEMBER = parse_period("2026-11")
SEP_TO_NOV = months_ending(NOVEMBER, 3)


def values(points) -> list[Decimal | None]:  # type: ignore[no-untyped-def]
    return [point.value for point in points]


def held_invoice(number: str) -> Invoice:
    return Invoice.objects.get(contract__number=number, status=Invoice.Status.HELD)


def terms_change(contract, requester, approver, **options) -> ChangeRequest:  # type: ignore[no-untyped-def]
    """Change the payment terms of ``contract``, requested and approved by two people."""
    request = change_request_create(
        by=requester,
        target="contract",
        target_id=contract.pk,
        changes={"payment_terms_days": 45},
        reason="renegotiated",
        **options,
    )
    return change_request_approve(request_id=request.pk, by=approver)


def at(day: int, hour: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=dt.UTC)


def test_money_held_and_codes_of_two_held_drafts():
    make_contract("C-1", sow_document_id=None)
    make_contract("C-2", customer_code="CUST-2", sow_document_id=None)
    make_contract("C-3", customer_code="CUST-3")
    billing_run_execute(period=NOVEMBER)
    # A second blocking code on C-2, and a finding of observe mode that holds nothing.
    StoredFinding.objects.create(
        invoice=held_invoice("C-2"),
        code="PRICE_MISMATCH",
        severity="block",
        subject="line 1",
        message="price differs",
        amount_at_stake=D("50.00"),
        currency="EUR",
    )
    StoredFinding.objects.create(
        invoice=held_invoice("C-1"),
        code="TAX_RATE",
        severity="block",
        subject="line 1",
        message="observed only",
        observed=True,
    )

    held = kpi_exceptions.money_held()
    codes = kpi_exceptions.exceptions_by_code()

    assert held == {"EUR": (2, D("2380.00"))}
    assert [(c.code, c.drafts, c.findings) for c in codes] == [
        ("SOW_MISSING", 2, 2),
        ("PRICE_MISMATCH", 1, 1),
    ]
    assert codes[0].held == {"EUR": D("2380.00")}
    assert codes[1].held == {"EUR": D("1190.00")}


def test_pareto_sorts_and_accumulates_over_every_code():
    figures = [
        kpi_exceptions.CodeFigure(code, drafts, drafts, {})
        for code, drafts in [("B", 3), ("A", 5), ("C", 2)]
    ]

    bars = kpi_exceptions.pareto(figures, top=2)

    # Total occurrences 10: A 5/10, then A + B 8/10; C is left out of the bars only.
    assert [(bar.code, bar.drafts, bar.cumulative) for bar in bars] == [
        ("A", 5, D("0.5000")),
        ("B", 3, D("0.8000")),
    ]


def test_held_by_period_splits_by_billed_month():
    make_contract("C-1", sow_document_id=None)
    billing_run_execute(period=parse_period("2026-10"))
    billing_run_execute(period=NOVEMBER)

    by_month = kpi_exceptions.held_by_period(SEP_TO_NOV)

    assert values(by_month["EUR"]) == [D(0), D("1190.00"), D("1190.00")]


def test_resolved_exception_counts_as_recovered_and_not_touchless():
    make_contract("C-1", sow_document_id=None)
    make_contract("C-2", customer_code="CUST-2")
    billing_run_execute(period=NOVEMBER)
    held = held_invoice("C-1")
    # ContractVersion rows are immutable in the services; the test fixes the source directly.
    ContractVersion.objects.filter(contract=held.contract).update(
        sow_document=make_sow("SOW-C-1-signed")
    )

    exception_resolve(invoice_id=held.pk, note="Signed SOW stored")

    recovered = kpi_exceptions.money_recovered(SEP_TO_NOV)
    assert values(recovered["EUR"]) == [D(0), D(0), D("1190.00")]
    figures = invoice_figures(SEP_TO_NOV)
    # November: C-2 went out untouched, C-1 only after its resolution: 1 of 2.
    assert values(figures.touchless_rate)[2] == D("0.5000")
    assert kpi_exceptions.money_held() == {}


def test_override_is_neither_recovered_nor_touchless():
    make_contract("C-1", sow_document_id=None)
    billing_run_execute(period=NOVEMBER)
    request = exception_override_request(
        invoice_id=held_invoice("C-1").pk, by=make_user("fay", "finance"), reason="SOW on file"
    )
    change_request_approve(request_id=request.pk, by=make_user("bob", "finance_approver"))

    assert kpi_exceptions.money_recovered(SEP_TO_NOV) == {}
    assert values(invoice_figures(SEP_TO_NOV).touchless_rate)[2] == D("0.0000")


def test_exceptions_by_team_of_the_last_applied_change():
    first = make_contract("C-1", sow_document_id=None)
    second = make_contract("C-2", customer_code="CUST-2", sow_document_id=None)
    make_contract("C-3", customer_code="CUST-3", sow_document_id=None)
    fay, sam = make_user("fay", "finance"), make_user("sam", "sales")
    approver = make_user("bob", "finance_approver")
    fays = terms_change(first.contract, fay, approver)
    terms_change(second.contract, sam, approver)
    # A later change of C-1 by sam: the last one before the draft, so C-1 counts for sales.
    an_hour_ago = timezone.now() - dt.timedelta(hours=1)
    ChangeRequest.objects.filter(pk=fays.pk).update(applied_at=an_hour_ago)
    later = ChangeRequest.objects.get(pk=fays.pk)
    later.pk = None
    later.requested_by = sam
    later.applied_at = an_hour_ago + dt.timedelta(minutes=1)
    later.save()
    # An approved change of C-2 that waits for its effective date has not changed anything.
    terms_change(second.contract, fay, approver, effective_from=dt.date(2027, 3, 1))
    billing_run_execute(period=NOVEMBER)

    teams = kpi_exceptions.exceptions_by_team()

    # C-1 and C-2: sales. C-3: no change at all.
    assert [(t.team, t.drafts, t.held) for t in teams] == [
        ("sales", 2, {"EUR": D("2380.00")}),
        ("no change on record", 1, {"EUR": D("1190.00")}),
    ]


def test_change_after_the_draft_is_not_its_cause():
    setup = make_contract("C-1", sow_document_id=None)
    billing_run_execute(period=NOVEMBER)
    terms_change(setup.contract, make_user("sam", "sales"), make_user("bob", "finance_approver"))

    teams = kpi_exceptions.exceptions_by_team()

    assert [(t.team, t.drafts) for t in teams] == [("no change on record", 1)]


def test_approval_time_median_per_decision_month():
    setup = make_contract()
    requester, approver = make_user("fay", "finance"), make_user("bob", "finance_approver")
    # (requested, decided): 2 h and 10 h in October; 4 h, 6 h and 30 h in November.
    cases = [
        (at(1, 8, 10), at(1, 10, 10)),
        (at(2, 8, 10), at(2, 18, 10)),
        (at(3, 8), at(3, 12)),
        (at(4, 8), at(4, 14)),
        (at(5, 8), at(6, 14)),
    ]
    for index, (requested, decided) in enumerate(cases):
        request = terms_change(
            setup.contract, requester, approver, effective_from=dt.date(2027, 1, 1 + index)
        )
        ChangeRequest.objects.filter(pk=request.pk).update(
            requested_at=requested, decided_at=decided
        )

    # October: median of 2 and 10 is 6.0; November: median of 4, 6 and 30 is 6.0 too, but
    # a mean would give 13.3.
    assert values(kpi_times.approval_time(SEP_TO_NOV)) == [None, D("6.0"), D("6.0")]


def test_amendment_lag_median_per_approval_month():
    setup = make_contract()
    for number, signed, approved in [
        ("A-1", dt.date(2026, 10, 20), dt.date(2026, 11, 2)),  # 13 days
        ("A-2", dt.date(2026, 11, 1), dt.date(2026, 11, 4)),  # 3 days
        ("A-3", None, dt.date(2026, 11, 5)),  # no signature date: left out
    ]:
        Amendment.objects.create(
            contract=setup.contract,
            number=number,
            status=Amendment.Status.APPROVED,
            effective_from=dt.date(2026, 12, 1),
            signed_on=signed,
            approved_on=approved,
        )

    assert values(kpi_times.amendment_lag(SEP_TO_NOV)) == [None, None, D("8.0")]


def test_billing_cycle_time_to_the_last_issued_invoice():
    make_contract("C-1")
    make_contract("C-2", customer_code="CUST-2")
    billing_run_execute(period=NOVEMBER)
    Invoice.objects.filter(contract__number="C-1").update(issued_at=at(1, 6))
    Invoice.objects.filter(contract__number="C-2").update(issued_at=at(3, 12))

    # The last invoice of November went out on 11-03 12:00: 2.5 days after 11-01 00:00.
    assert values(kpi_times.billing_cycle_time(SEP_TO_NOV)) == [None, None, D("2.5")]
