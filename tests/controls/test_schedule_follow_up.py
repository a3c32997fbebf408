"""An approved change of contract terms requests the matching billing-schedule change."""

import datetime as dt
from decimal import Decimal

import pytest

from billguard.controls.models import ChangeRequest
from billguard.controls.requests import change_request_approve, change_request_create
from billguard.registry.models import BillingScheduleLine
from tests.acting_users import make_user
from tests.factories import make_contract

pytestmark = pytest.mark.django_db

DECEMBER = dt.date(2026, 12, 1)


def approve_contract_change(contract, changes):
    sam = make_user("sam", "sales", "finance")
    alex = make_user("alex", "finance_approver")
    request = change_request_create(
        by=sam,
        target="contract",
        target_id=contract.pk,
        changes=changes,
        reason="new scope from December",
        effective_from=DECEMBER,
    )
    change_request_approve(request_id=request.pk, by=alex)
    request.refresh_from_db()
    return request, alex


def test_new_and_removed_lines_follow():
    setup = make_contract()
    changes = {
        "lines": {
            "L1": None,
            "L2": {
                "kind": "recurring_fixed",
                "description": "Premium support",
                "unit_price": "250.00",
                "quantity": "2",
                "gl_account": "4000",
            },
        }
    }

    request, _ = approve_contract_change(setup.contract, changes)

    follow = ChangeRequest.objects.get(pk=request.result["schedule_request"])
    assert follow.target == "schedule"
    assert follow.effective_from == DECEMBER
    assert follow.changes["lines"]["L1"] is None
    assert follow.changes["lines"]["L2"]["unit_price"] == "250"
    assert follow.changes["lines"]["L2"]["kind"] == "recurring_fixed"
    bob = make_user("bob", "finance_approver")
    change_request_approve(request_id=follow.pk, by=bob)
    follow.refresh_from_db()
    assert follow.status == ChangeRequest.Status.APPLIED
    in_december = BillingScheduleLine.objects.filter(effective_from__lte=DECEMBER).exclude(
        effective_to__lte=DECEMBER
    )
    assert [(line.line_code, line.unit_price) for line in in_december] == [
        ("L2", Decimal("250.000000"))
    ]


def test_open_schedule_request_is_not_doubled():
    setup = make_contract()
    fran = make_user("fran", "finance")
    pending = change_request_create(
        by=fran,
        target="schedule",
        target_id=setup.contract.schedule.pk,
        changes={"lines": {"L1": {"gl_account": "4010"}}},
        reason="GL remap",
    )

    request, _ = approve_contract_change(
        setup.contract, {"lines": {"L1": {"unit_price": "1200.00"}}}
    )

    assert request.result["schedule_request"] == (
        f"not requested: change request {pending.pk} on the schedule is open"
    )
    assert ChangeRequest.objects.filter(target="schedule").count() == 1
