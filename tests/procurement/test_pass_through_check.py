"""PASS_THROUGH_COST_CHANGED: fires on a line with an open cost change, with the money at stake."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billguard.checks.engine import run_checks
from billguard.checks.selectors import ContextRequest, load_contexts
from billguard.domain.money import Money
from billguard.domain.periods import parse_period
from billguard.procurement.models import CostChange
from tests.factories import checked_draft
from tests.procurement.passthrough_setup import (
    linked_at_cost,
    linked_cost_plus,
    record_vendor_invoice,
    reprice,
)

pytestmark = pytest.mark.django_db

D = Decimal
CODE = "PASS_THROUGH_COST_CHANGED"


def findings_of(contract):
    draft, context = checked_draft(contract, "2026-11")
    return run_checks(draft, context, only=[CODE])


def test_quiet_without_cost_change():
    linked = linked_at_cost()

    assert findings_of(linked.contract) == []


def test_at_cost_increase_is_under_billing():
    linked = linked_at_cost()
    reprice(linked.po_line, D("1080.00"))

    [finding] = findings_of(linked.contract)

    assert finding.severity.value == "block"
    assert finding.subject == "line 1 (L1)"
    assert finding.amount_at_stake == Money(D("80.00"), "EUR")
    assert finding.expected == "1080.00"
    assert finding.actual == "1000.00"
    assert "under-billed 80.00 EUR" in finding.message
    assert finding.evidence["basis"] == "at_cost"
    assert finding.evidence["vendor_sources"] == "PO-C-1 rev 2"


def test_at_cost_decrease_is_over_billing_with_absolute_amount():
    linked = linked_at_cost()
    reprice(linked.po_line, D("950.00"))

    [finding] = findings_of(linked.contract)

    assert finding.amount_at_stake == Money(D("50.00"), "EUR")
    assert "over-billed 50.00 EUR" in finding.message


def test_cost_plus_increase_is_margin_lost():
    linked = linked_cost_plus()
    reprice(linked.po_line, D("840.00"))

    [finding] = findings_of(linked.contract)

    # 840.00 x 1.25 = 1050.00 is the price the new cost implies; the draft bills 1000.00.
    assert finding.expected == "1050.00"
    assert finding.amount_at_stake == Money(D("50.00"), "EUR")
    assert "margin lost 50.00 EUR" in finding.message
    assert finding.evidence["margin_percent"] == "25"


def test_cost_plus_decrease_is_over_billing():
    linked = linked_cost_plus()
    record_vendor_invoice(linked.po_line, D("760.00"))

    [finding] = findings_of(linked.contract)

    assert finding.expected == "950.00"
    assert finding.amount_at_stake == Money(D("50.00"), "EUR")
    assert "over-billed" in finding.message


def test_two_open_changes_report_from_first_old_to_last_new_cost():
    linked = linked_at_cost()
    reprice(linked.po_line, D("1080.00"))
    reprice(linked.po_line, D("1120.00"))

    [finding] = findings_of(linked.contract)

    assert finding.amount_at_stake == Money(D("120.00"), "EUR")
    assert finding.evidence["vendor_sources"] == "PO-C-1 rev 2; PO-C-1 rev 3"


def test_approved_change_keeps_the_check_quiet():
    linked = linked_at_cost()
    reprice(linked.po_line, D("1080.00"))
    CostChange.objects.update(status=CostChange.Status.APPROVED)

    assert findings_of(linked.contract) == []


def test_change_of_other_contract_keeps_the_check_quiet():
    changed = linked_cost_plus("C-2")
    clean = linked_at_cost("C-1")
    reprice(changed.po_line, D("840.00"))

    assert findings_of(clean.contract) == []
    assert len(findings_of(changed.contract)) == 1


def test_open_changes_load_in_one_query_for_many_contracts():
    first = linked_at_cost("C-1")
    second = linked_cost_plus("C-2")
    reprice(first.po_line, D("1080.00"))
    reprice(second.po_line, D("840.00"))
    period = parse_period("2026-11")
    requests = [
        ContextRequest(linked.contract.pk, None, period.start, period.end)
        for linked in (first, second)
    ]

    with CaptureQueriesContext(connection) as queries:
        contexts = load_contexts(requests, as_of=period.start, period=period)

    cost_queries = [q for q in queries if "procurement_costchange" in q["sql"]]
    assert len(cost_queries) == 1
    assert [len(context.cost_changes) for context in contexts] == [1, 1]
