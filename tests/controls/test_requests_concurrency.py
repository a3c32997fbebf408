"""Two approvers approving the same request at the same moment, on PostgreSQL.

The request row is locked for the whole decision, so the change is applied exactly once.
SQLite has no row locks and serializes all writers, so these tests need PostgreSQL.
"""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections

from billguard.controls.models import Approval, ApprovalRule, ChangeRequest
from billguard.controls.requests import change_request_approve, change_request_create
from billguard.domain.errors import BillguardError
from billguard.registry.models import ContractVersion
from tests.acting_users import make_user
from tests.factories import make_contract

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks between connections need PostgreSQL"
    ),
]

THREAD_TIMEOUT = 60


def approve_together(request_id: int, approvers: list[User]) -> tuple[list, list]:
    """Approve from one thread per approver, released at the same moment by a barrier."""
    barrier = threading.Barrier(len(approvers))
    results: list[ChangeRequest] = []
    errors: list[BaseException] = []

    def approve(user: User) -> None:
        try:
            barrier.wait(timeout=THREAD_TIMEOUT)
            results.append(change_request_approve(request_id=request_id, by=user))
        except BaseException as error:  # reported by the test thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(user,)) for user in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT)
        assert not thread.is_alive(), "an approver thread did not finish"
    return results, errors


def test_two_approvers_at_once_apply_once():
    setup = make_contract()
    request = change_request_create(
        by=make_user("ann", "finance"),
        target="contract",
        target_id=setup.contract.pk,
        changes={"payment_terms_days": 45},
        reason="renegotiated",
    )
    approvers = [make_user("bob", "finance_approver"), make_user("carol", "finance_approver")]

    results, errors = approve_together(request.pk, approvers)

    assert len(results) == 1
    assert results[0].status == ChangeRequest.Status.APPLIED
    assert len(errors) == 1
    assert isinstance(errors[0], BillguardError)
    assert "applied" in str(errors[0])
    assert ContractVersion.objects.filter(contract=setup.contract).count() == 2
    assert Approval.objects.count() == 1


def test_last_two_approvals_at_once_both_count():
    setup = make_contract()
    ApprovalRule.objects.create(
        name="terms need two", subject="payment_terms", role="finance_approver", approvals=2
    )
    request = change_request_create(
        by=make_user("ann", "finance"),
        target="contract",
        target_id=setup.contract.pk,
        changes={"payment_terms_days": 45},
        reason="renegotiated",
    )
    approvers = [make_user("bob", "finance_approver"), make_user("carol", "finance_approver")]

    results, errors = approve_together(request.pk, approvers)

    assert errors == []
    assert sorted(r.status for r in results) == ["applied", "pending"]
    stored = ChangeRequest.objects.get(pk=request.pk)
    assert stored.status == ChangeRequest.Status.APPLIED
    assert sorted(stored.required[0]["approved_by"]) == ["bob", "carol"]
    assert ContractVersion.objects.filter(contract=setup.contract).count() == 2
