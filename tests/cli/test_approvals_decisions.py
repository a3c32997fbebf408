"""Approving, rejecting, withdrawing and delegating through the CLI, on the request services.

The request rows are written directly, so that these tests only depend on the services'
names and keyword arguments, not on how a request is created.
"""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from billguard.cli.main import main
from billguard.controls.models import Approval, ChangeRequest, Delegation

pytestmark = pytest.mark.django_db(transaction=True)


def pending_request(requester: User) -> ChangeRequest:
    now = timezone.now()
    return ChangeRequest.objects.create(
        target="contract",
        target_id="7",
        target_label="C-0007",
        categories=["price"],
        changes={"lines": {"L1": {"unit_price": "1100.00"}}},
        before={"lines": {"L1": {"unit_price": "1000.00"}}},
        reason="Price uplift agreed in the renewal",
        required=[{"rule": "price-two-approvers", "role": "finance_approver", "approvals": 2}],
        requested_by=requester,
        requested_at=now,
        expires_at=now + dt.timedelta(days=14),
    )


def test_approve_records_approval(capsys, sample_users):
    request = pending_request(sample_users["sam.sales"])

    status = main(["--user", "alex.approver", "approvals", "approve", str(request.pk)])

    assert status == 0
    approvals = list(Approval.objects.filter(change_request=request))
    assert [a.approver.get_username() for a in approvals] == ["alex.approver"]
    assert approvals[0].decision == Approval.Decision.APPROVE
    out = capsys.readouterr().out
    assert f"approved change request {request.pk} (1 approval(s) so far)" in out
    assert (
        f"it waits for more approvals: see them with `billguard approvals show {request.pk}`" in out
    )


def test_approve_by_sales_is_refused(capsys, sample_users):
    request = pending_request(sample_users["fran.finance"])

    status = main(["approvals", "approve", str(request.pk), "--user", "sam.sales"])

    assert status == 2
    assert "sam.sales" in capsys.readouterr().err
    assert not Approval.objects.filter(change_request=request).exists()


def test_approve_unknown_request_exits_two(capsys, sample_users):
    status = main(["--user", "alex.approver", "approvals", "approve", "4040"])

    assert status == 2
    assert "4040" in capsys.readouterr().err


def test_reject_with_reason(capsys, sample_users):
    request = pending_request(sample_users["sam.sales"])

    status = main(
        ["--user", "alex.approver", "approvals", "reject", str(request.pk), "--reason", "No SOW"]
    )

    assert status == 0
    request.refresh_from_db()
    assert request.status == ChangeRequest.Status.REJECTED


def test_withdraw_by_requester(capsys, sample_users):
    request = pending_request(sample_users["sam.sales"])

    status = main(["--user", "sam.sales", "approvals", "withdraw", str(request.pk)])

    assert status == 0
    request.refresh_from_db()
    assert request.status == ChangeRequest.Status.WITHDRAWN


def test_delegate_creates_delegation(capsys, sample_users):
    status = main(
        [
            "--user",
            "alex.approver",
            "approvals",
            "delegate",
            "--to",
            "blake.approver",
            "--from",
            "2026-12-01",
            "--until",
            "2026-12-14",
            "--reason",
            "Holiday",
        ]
    )

    assert status == 0
    delegation = Delegation.objects.get()
    assert delegation.delegator.get_username() == "alex.approver"
    assert delegation.delegate.get_username() == "blake.approver"
    assert (delegation.starts_on, delegation.ends_on) == (
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 14),
    )


def test_delegate_to_unknown_user_exits_two(capsys, sample_users):
    status = main(
        [
            "--user",
            "alex.approver",
            "approvals",
            "delegate",
            "--to",
            "ghost",
            "--from",
            "2026-12-01",
            "--until",
            "2026-12-14",
        ]
    )

    assert status == 2
    assert "--to" in capsys.readouterr().err
    assert not Delegation.objects.exists()
