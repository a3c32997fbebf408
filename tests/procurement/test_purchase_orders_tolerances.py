"""Setting and listing match tolerances."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billguard.controls.models import AuditEntry
from billguard.domain.errors import InvalidInput, NotAllowed, RuleViolation
from billguard.procurement.models import MatchTolerance
from billguard.procurement.tolerances import (
    match_tolerance_set,
    match_tolerances_list,
    scope_label,
)
from billguard.registry.services.parties import party_create
from tests.acting_users import make_user
from tests.procurement.ordering import make_vendor

pytestmark = pytest.mark.django_db

D = Decimal


def test_set_replaces_row_of_scope():
    buyer = make_user("pat.procurement", "procurement")
    vendor = make_vendor()

    match_tolerance_set(unit_price_percent=D(1), amount=D("5.00"), by=buyer)
    match_tolerance_set(vendor=vendor, category="hosting", quantity_percent=D(2), by=buyer)
    match_tolerance_set(vendor=vendor, category="hosting", quantity_percent=D(3), by=buyer)

    rows = match_tolerances_list()
    assert [scope_label(row) for row in rows] == ["default", "vendor V-1, category hosting"]
    assert rows[1].quantity_percent == D(3)
    assert MatchTolerance.objects.count() == 2
    last = AuditEntry.objects.filter(action="match_tolerance.set").order_by("sequence").last()
    assert last is not None
    assert last.actor == "pat.procurement"
    assert last.before["quantity_percent"] == "2.0000"


@pytest.mark.parametrize(
    "arguments",
    [
        {"quantity_percent": D(-1)},
        {"unit_price_percent": D(101)},
        {"amount": D("-0.01")},
        {"amount": D("0.0001")},
        {"category": "x" * 61},
    ],
)
def test_set_refuses_bad_values(arguments):
    with pytest.raises(InvalidInput):
        match_tolerance_set(**arguments)

    assert not MatchTolerance.objects.exists()


def test_set_refuses_a_customer():
    customer = party_create(code="CUST-1", kind="customer", name="Northwind", country="DE")

    with pytest.raises(RuleViolation, match="not a vendor"):
        match_tolerance_set(vendor=customer, unit_price_percent=D(1))


def test_set_needs_match_tolerance_manage():
    finance = make_user("fran.finance", "finance")

    with pytest.raises(NotAllowed):
        match_tolerance_set(unit_price_percent=D(1), by=finance)
