"""Change requests alert their subscribers when they are made, approved, rejected or applied
on the emergency path, by a signed webhook sent after the decision commits."""

import pytest
from django.db import transaction

from billguard.controls.alerts import alert_subscribe
from billguard.controls.models import AlertDelivery, ChangeRequest
from billguard.controls.requests import (
    change_emergency_apply,
    change_request_approve,
    change_request_create,
    change_request_reject,
)
from tests.acting_users import make_user
from tests.controls.alert_servers import webhook_server
from tests.factories import make_contract

SECRET = "change-alerts-key"

pytestmark = pytest.mark.django_db(transaction=True)


def subscribe(url: str, *events: str) -> None:
    for event in events:
        alert_subscribe(event=event, channel="webhook", address=url, secret=SECRET)


def request_terms(contract, by) -> ChangeRequest:
    return change_request_create(
        by=by,
        target="contract",
        target_id=contract.pk,
        changes={"payment_terms_days": 45},
        reason="customer asked for 45 days",
    )


def test_request_and_approval_are_alerted_after_commit():
    setup = make_contract()
    fran = make_user("fran", "finance")
    alex = make_user("alex", "finance_approver")
    with webhook_server(SECRET) as receiver:
        subscribe(receiver.url, "change.requested", "change.approved")

        request = request_terms(setup.contract, fran)
        requested = list(receiver.accepted)
        change_request_approve(request_id=request.pk, by=alex)

    assert [r["event"] for r in requested] == ["change.requested"]
    assert requested[0]["json"]["data"]["change_request"] == request.pk
    assert requested[0]["json"]["data"]["changes"] == {"payment_terms_days": 45}
    assert requested[0]["json"]["data"]["requested_by"] == "fran"
    assert [r["event"] for r in receiver.accepted] == ["change.requested", "change.approved"]
    assert receiver.bad_signatures == 0


def test_rejection_is_alerted_with_its_reason():
    setup = make_contract()
    fran = make_user("fran", "finance")
    alex = make_user("alex", "finance_approver")
    with webhook_server(SECRET) as receiver:
        subscribe(receiver.url, "change.rejected")
        request = request_terms(setup.contract, fran)

        change_request_reject(request_id=request.pk, by=alex, reason="not in the signed SOW")

    assert len(receiver.accepted) == 1
    data = receiver.accepted[0]["json"]["data"]
    assert data["status"] == "rejected"
    assert data["decision_reason"] == "not in the signed SOW"


def test_emergency_change_is_alerted():
    setup = make_contract()
    ada = make_user("ada", "administrator")
    with webhook_server(SECRET) as receiver:
        subscribe(receiver.url, "change.emergency")

        change_emergency_apply(
            by=ada,
            target="contract",
            target_id=setup.contract.pk,
            changes={"payment_terms_days": 45},
            reason="billing cannot wait",
        )

    assert [r["json"]["data"]["emergency"] for r in receiver.accepted] == [True]


def test_request_rolled_back_sends_nothing():
    setup = make_contract()
    fran = make_user("fran", "finance")
    with webhook_server(SECRET) as receiver:
        subscribe(receiver.url, "change.requested")

        with pytest.raises(RuntimeError), transaction.atomic():
            request_terms(setup.contract, fran)
            raise RuntimeError("the caller's transaction fails after the request")

    assert receiver.requests == []
    assert not AlertDelivery.objects.exists()
