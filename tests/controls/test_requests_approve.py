"""Approving change requests: maker-checker, counting people once, delegation, applying."""

import datetime as dt

import pytest
from django.utils import timezone

from billguard.controls.approval_policy import requirement_text, requirements_describe
from billguard.controls.models import Approval, ApprovalRule, AuditEntry, ChangeRequest
from billguard.controls.requests import (
    change_request_approve,
    change_request_create,
    change_request_reject,
    change_request_withdraw,
    change_requests_apply_due,
    change_requests_expire,
    delegation_create,
)
from billguard.controls.verify import audit_verify
from billguard.domain.errors import InvalidInput, NotAllowed, RuleViolation
from billguard.registry.models import ContractVersion
from tests.acting_users import make_user
from tests.factories import make_contract

pytestmark = pytest.mark.django_db

TERMS = {"payment_terms_days": 45}


def latest_version(contract):
    return ContractVersion.objects.filter(contract=contract).latest("version_number")


def terms_request(contract, by, changes=TERMS, **options):
    return change_request_create(
        by=by,
        target="contract",
        target_id=contract.pk,
        changes=changes,
        reason="renegotiated",
        **options,
    )


def two_approvers_rule():
    ApprovalRule.objects.create(
        name="terms need two", subject="payment_terms", role="finance_approver", approvals=2
    )


def test_approve_applies_new_version():
    setup = make_contract()
    request = terms_request(setup.contract, make_user("ann", "finance"))

    approved = change_request_approve(
        request_id=request.pk, by=make_user("bob", "finance_approver")
    )

    assert approved.status == ChangeRequest.Status.APPLIED
    version = latest_version(setup.contract)
    assert version.version_number == 2
    assert version.payment_terms_days == 45
    assert version.effective_from == timezone.localdate()
    assert version.change_request_id == request.pk
    assert approved.result["version"] == 2


def test_requester_cannot_approve_own_request():
    setup = make_contract()
    chris = make_user("chris", "finance_approver")
    request = terms_request(setup.contract, chris)

    with pytest.raises(NotAllowed):
        change_request_approve(request_id=request.pk, by=chris)

    assert not Approval.objects.exists()


def test_approver_needs_approve_permission():
    setup = make_contract()
    request = terms_request(setup.contract, make_user("ann", "finance"))

    with pytest.raises(NotAllowed):
        change_request_approve(request_id=request.pk, by=make_user("fred", "finance"))


def test_two_approvals_needed_before_apply():
    setup = make_contract()
    two_approvers_rule()
    request = terms_request(setup.contract, make_user("ann", "finance"))

    first = change_request_approve(request_id=request.pk, by=make_user("bob", "finance_approver"))
    assert first.status == ChangeRequest.Status.PENDING
    assert latest_version(setup.contract).version_number == 1

    second = change_request_approve(
        request_id=request.pk, by=make_user("carol", "finance_approver")
    )
    assert second.status == ChangeRequest.Status.APPLIED
    assert second.required[0]["approved_by"] == ["bob", "carol"]
    assert latest_version(setup.contract).version_number == 2


def test_same_person_counts_once():
    setup = make_contract()
    two_approvers_rule()
    bob = make_user("bob", "finance_approver")
    request = terms_request(setup.contract, make_user("ann", "finance"))
    change_request_approve(request_id=request.pk, by=bob)

    with pytest.raises(RuleViolation):
        change_request_approve(request_id=request.pk, by=bob)

    assert Approval.objects.count() == 1


def test_approval_counts_by_role():
    setup = make_contract()
    ApprovalRule.objects.create(name="terms", subject="payment_terms", role="finance_approver")
    request = terms_request(setup.contract, make_user("ann", "finance"))

    with pytest.raises(NotAllowed) as raised:
        change_request_approve(request_id=request.pk, by=make_user("ada", "administrator"))

    assert "1 approval from the finance approver role under rule terms" in raised.value.message
    assert ChangeRequest.objects.get(pk=request.pk).status == ChangeRequest.Status.PENDING


def test_one_approval_counts_toward_each_matching_requirement():
    setup = make_contract()
    ApprovalRule.objects.create(name="terms", subject="payment_terms", role="finance_approver")
    ApprovalRule.objects.create(name="prices", subject="price", role="finance_approver")
    request = terms_request(
        setup.contract,
        make_user("ann", "finance"),
        {"payment_terms_days": 45, "lines": {"L1": {"unit_price": "1100.00"}}},
    )

    approved = change_request_approve(
        request_id=request.pk, by=make_user("bob", "finance_approver")
    )

    assert approved.status == ChangeRequest.Status.APPLIED
    assert Approval.objects.get().rule == "prices, terms"


def test_still_needed_merges_one_role():
    setup = make_contract()
    ApprovalRule.objects.create(name="terms", subject="payment_terms", role="finance_approver")
    ApprovalRule.objects.create(name="prices", subject="price", role="finance_approver")
    request = terms_request(
        setup.contract,
        make_user("ann", "finance"),
        {"payment_terms_days": 45, "lines": {"L1": {"unit_price": "1100.00"}}},
    )

    needed = requirements_describe(request.required)

    assert needed == "1 approval from the finance approver role under rules prices and terms"


@pytest.mark.parametrize(
    ("requirement", "text"),
    [
        (
            {"role": "finance_approver", "approvals": 2},
            "2 approvals from the finance approver role",
        ),
        ({"role": "", "approvals": 1}, "1 approval from any approver"),
        (
            {"role": "finance_approver", "approvals": 1, "approved_by": ["bob"]},
            "1 approval from the finance approver role",
        ),
    ],
)
def test_requirement_text_names_role_label(requirement, text):
    assert requirement_text(requirement) == text


def test_still_needed_counts_largest_gap():
    setup = make_contract()
    ApprovalRule.objects.create(
        name="terms need two", subject="payment_terms", role="finance_approver", approvals=2
    )
    ApprovalRule.objects.create(name="prices", subject="price", role="finance_approver")
    request = terms_request(
        setup.contract,
        make_user("ann", "finance"),
        {"payment_terms_days": 45, "lines": {"L1": {"unit_price": "1100.00"}}},
    )
    before = requirements_describe(request.required)

    first = change_request_approve(request_id=request.pk, by=make_user("bob", "finance_approver"))
    second = change_request_approve(
        request_id=request.pk, by=make_user("carol", "finance_approver")
    )

    assert before == (
        "2 approvals from the finance approver role under rules prices and terms need two"
    )
    assert requirements_describe(first.required) == (
        "1 approval from the finance approver role under rule terms need two"
    )
    assert second.status == ChangeRequest.Status.APPLIED


def test_still_needed_uses_role_labels():
    setup = make_contract()
    ApprovalRule.objects.create(name="terms", subject="payment_terms", role="finance_approver")
    ApprovalRule.objects.create(name="terms admin", subject="payment_terms", role="administrator")
    request = terms_request(setup.contract, make_user("ann", "finance"))

    needed = requirements_describe(request.required)

    assert needed == (
        "1 approval from the finance approver role under rule terms; "
        "1 approval from the administrator role under rule terms admin"
    )


def test_requirements_of_different_roles_need_each_role():
    setup = make_contract()
    ApprovalRule.objects.create(name="terms", subject="payment_terms", role="finance_approver")
    ApprovalRule.objects.create(name="terms admin", subject="payment_terms", role="administrator")
    request = terms_request(setup.contract, make_user("ann", "finance"))

    first = change_request_approve(request_id=request.pk, by=make_user("bob", "finance_approver"))
    second = change_request_approve(request_id=request.pk, by=make_user("ada", "administrator"))

    assert first.status == ChangeRequest.Status.PENDING
    assert second.status == ChangeRequest.Status.APPLIED


def test_approve_records_audit_entries():
    setup = make_contract()
    request = terms_request(setup.contract, make_user("ann", "finance"))

    change_request_approve(request_id=request.pk, by=make_user("bob", "finance_approver"))

    entries = AuditEntry.objects.filter(
        record_id=str(request.pk), record_type="controls.changerequest"
    )
    assert list(entries.order_by("sequence").values_list("action", "actor")) == [
        ("change_request.create", "ann"),
        ("change_request.approve", "bob"),
        ("change_request.apply", "bob"),
    ]
    applied = entries.get(action="change_request.apply")
    assert applied.before == {"payment_terms_days": 30}
    assert applied.after["changes"] == TERMS
    assert audit_verify().intact


def test_future_request_waits_for_its_date():
    setup = make_contract()
    start = timezone.localdate() + dt.timedelta(days=30)
    request = terms_request(setup.contract, make_user("ann", "finance"), effective_from=start)

    approved = change_request_approve(
        request_id=request.pk, by=make_user("bob", "finance_approver")
    )
    early = change_requests_apply_due(today=start - dt.timedelta(days=1))
    due = change_requests_apply_due(today=start)

    assert approved.status == ChangeRequest.Status.APPROVED
    assert early == 0
    assert due == 1
    assert ChangeRequest.objects.get(pk=request.pk).status == ChangeRequest.Status.APPLIED
    version = latest_version(setup.contract)
    assert version.effective_from == start
    assert version.payment_terms_days == 45


def test_apply_due_applies_once():
    setup = make_contract()
    start = timezone.localdate() + dt.timedelta(days=30)
    request = terms_request(setup.contract, make_user("ann", "finance"), effective_from=start)
    change_request_approve(request_id=request.pk, by=make_user("bob", "finance_approver"))

    assert change_requests_apply_due(today=start) == 1
    assert change_requests_apply_due(today=start) == 0
    assert ContractVersion.objects.filter(contract=setup.contract).count() == 2


def test_stale_request_not_applied():
    setup = make_contract()
    ann = make_user("ann", "finance")
    bob = make_user("bob", "finance_approver")
    start = timezone.localdate() + dt.timedelta(days=30)
    older = terms_request(setup.contract, ann, effective_from=start)
    newer = terms_request(
        setup.contract, ann, {"payment_terms_days": 60}, effective_from=start - dt.timedelta(days=1)
    )
    change_request_approve(request_id=newer.pk, by=bob)
    change_requests_apply_due(today=start - dt.timedelta(days=1))

    result = change_request_approve(request_id=older.pk, by=bob)
    applied = change_requests_apply_due(today=start)

    assert result.status == ChangeRequest.Status.APPROVED
    assert applied == 0
    stale = ChangeRequest.objects.get(pk=older.pk)
    assert stale.status == ChangeRequest.Status.STALE
    assert "payment_terms_days was 30, now 60" in stale.decision_reason
    assert latest_version(setup.contract).payment_terms_days == 60
    assert AuditEntry.objects.filter(action="change_request.stale").count() == 1


def test_stale_at_approval_returns_stale_request():
    setup = make_contract()
    ann = make_user("ann", "finance")
    bob = make_user("bob", "finance_approver")
    first = terms_request(setup.contract, ann, {"payment_terms_days": 60})
    second = terms_request(setup.contract, ann, {"payment_terms_days": 45})
    change_request_approve(request_id=first.pk, by=bob)

    result = change_request_approve(request_id=second.pk, by=bob)

    assert result.status == ChangeRequest.Status.STALE
    assert "changed since the request was made" in result.decision_reason
    assert ChangeRequest.objects.get(pk=second.pk).status == ChangeRequest.Status.STALE


def test_unrelated_change_does_not_make_request_stale():
    setup = make_contract()
    ann = make_user("ann", "finance")
    bob = make_user("bob", "finance_approver")
    start = timezone.localdate() + dt.timedelta(days=30)
    terms = terms_request(setup.contract, ann, effective_from=start)
    po = terms_request(
        setup.contract, ann, {"po_ceiling": "50000"}, effective_from=start - dt.timedelta(days=2)
    )
    change_request_approve(request_id=po.pk, by=bob)
    change_requests_apply_due(today=start - dt.timedelta(days=2))

    change_request_approve(request_id=terms.pk, by=bob)
    change_requests_apply_due(today=start)

    version = latest_version(setup.contract)
    assert version.payment_terms_days == 45
    assert version.po_ceiling == 50000


def test_reject_needs_reason():
    setup = make_contract()
    request = terms_request(setup.contract, make_user("ann", "finance"))

    with pytest.raises(InvalidInput):
        change_request_reject(
            request_id=request.pk, by=make_user("bob", "finance_approver"), reason=" "
        )


def test_reject_closes_request():
    setup = make_contract()
    request = terms_request(setup.contract, make_user("ann", "finance"))
    bob = make_user("bob", "finance_approver")

    rejected = change_request_reject(request_id=request.pk, by=bob, reason="Not what we signed")

    assert rejected.status == ChangeRequest.Status.REJECTED
    assert rejected.decision_reason == "Not what we signed"
    assert Approval.objects.get().decision == Approval.Decision.REJECT
    entry = AuditEntry.objects.get(action="change_request.reject")
    assert entry.reason == "Not what we signed"
    with pytest.raises(RuleViolation):
        change_request_approve(request_id=request.pk, by=make_user("carol", "finance_approver"))
    assert latest_version(setup.contract).version_number == 1


def test_requester_cannot_reject_own_request():
    setup = make_contract()
    chris = make_user("chris", "finance_approver")
    request = terms_request(setup.contract, chris)

    with pytest.raises(NotAllowed):
        change_request_reject(request_id=request.pk, by=chris, reason="changed my mind")


def test_withdraw_by_requester():
    setup = make_contract()
    ann = make_user("ann", "finance")
    request = terms_request(setup.contract, ann)

    withdrawn = change_request_withdraw(request_id=request.pk, by=ann)

    assert withdrawn.status == ChangeRequest.Status.WITHDRAWN
    assert AuditEntry.objects.filter(action="change_request.withdraw").count() == 1


def test_withdraw_by_other_refused():
    setup = make_contract()
    request = terms_request(setup.contract, make_user("ann", "finance"))

    with pytest.raises(NotAllowed):
        change_request_withdraw(request_id=request.pk, by=make_user("bob", "finance_approver"))

    assert ChangeRequest.objects.get(pk=request.pk).status == ChangeRequest.Status.PENDING


def test_withdrawn_request_cannot_be_withdrawn_again():
    setup = make_contract()
    ann = make_user("ann", "finance")
    request = terms_request(setup.contract, ann)
    change_request_withdraw(request_id=request.pk, by=ann)

    with pytest.raises(RuleViolation):
        change_request_withdraw(request_id=request.pk, by=ann)


def test_expire_pending_requests():
    setup = make_contract()
    request = terms_request(setup.contract, make_user("ann", "finance"))

    not_yet = change_requests_expire(now=request.expires_at - dt.timedelta(seconds=1))
    expired = change_requests_expire(now=request.expires_at)

    assert not_yet == 0
    assert expired == 1
    assert ChangeRequest.objects.get(pk=request.pk).status == ChangeRequest.Status.EXPIRED
    assert AuditEntry.objects.get(action="change_request.expire").record_id == str(request.pk)


def test_expired_request_cannot_be_approved():
    setup = make_contract()
    request = terms_request(setup.contract, make_user("ann", "finance"))
    ChangeRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )

    with pytest.raises(RuleViolation) as raised:
        change_request_approve(request_id=request.pk, by=make_user("bob", "finance_approver"))

    assert "expired" in raised.value.message


def test_delegate_approves_with_delegator_roles():
    setup = make_contract()
    carol = make_user("carol", "finance_approver")
    dave = make_user("dave", "finance")
    today = timezone.localdate()
    delegation_create(by=carol, delegate=dave, starts_on=today, ends_on=today)
    request = terms_request(setup.contract, make_user("ann", "finance"))

    approved = change_request_approve(request_id=request.pk, by=dave)

    assert approved.status == ChangeRequest.Status.APPLIED
    approval = Approval.objects.get()
    assert approval.approver == dave
    assert approval.on_behalf_of == carol
    assert approved.required[0]["approved_by"] == ["carol"]


def test_delegate_cannot_approve_own_request_for_delegator():
    setup = make_contract()
    carol = make_user("carol", "finance_approver")
    dave = make_user("dave", "finance")
    today = timezone.localdate()
    delegation_create(by=carol, delegate=dave, starts_on=today, ends_on=today)
    request = terms_request(setup.contract, dave)

    with pytest.raises(NotAllowed):
        change_request_approve(request_id=request.pk, by=dave)


def test_delegate_cannot_approve_for_requester():
    setup = make_contract()
    carol = make_user("carol", "finance_approver")
    dave = make_user("dave", "finance")
    today = timezone.localdate()
    delegation_create(by=carol, delegate=dave, starts_on=today, ends_on=today)
    request = terms_request(setup.contract, carol)

    with pytest.raises(NotAllowed) as raised:
        change_request_approve(request_id=request.pk, by=dave)

    assert "carol made the request" in raised.value.message


def test_delegator_counted_once_after_delegate():
    setup = make_contract()
    two_approvers_rule()
    carol = make_user("carol", "finance_approver")
    dave = make_user("dave", "finance")
    today = timezone.localdate()
    delegation_create(by=carol, delegate=dave, starts_on=today, ends_on=today)
    request = terms_request(setup.contract, make_user("ann", "finance"))
    change_request_approve(request_id=request.pk, by=dave)

    with pytest.raises(RuleViolation):
        change_request_approve(request_id=request.pk, by=carol)

    assert ChangeRequest.objects.get(pk=request.pk).status == ChangeRequest.Status.PENDING


def test_delegate_cannot_count_delegator_twice():
    setup = make_contract()
    two_approvers_rule()
    carol = make_user("carol", "finance_approver")
    dave = make_user("dave", "finance")
    today = timezone.localdate()
    delegation_create(by=carol, delegate=dave, starts_on=today, ends_on=today)
    request = terms_request(setup.contract, make_user("ann", "finance"))
    change_request_approve(request_id=request.pk, by=carol)

    with pytest.raises(NotAllowed) as raised:
        change_request_approve(request_id=request.pk, by=dave)

    assert "carol has already been counted" in raised.value.message


def test_delegate_with_own_role_acts_for_themselves_first():
    setup = make_contract()
    two_approvers_rule()
    carol = make_user("carol", "finance_approver")
    erin = make_user("erin", "finance_approver")
    today = timezone.localdate()
    delegation_create(by=carol, delegate=erin, starts_on=today, ends_on=today)
    request = terms_request(setup.contract, make_user("ann", "finance"))

    change_request_approve(request_id=request.pk, by=erin)

    assert Approval.objects.get().on_behalf_of is None


def test_delegation_outside_its_dates_not_used():
    setup = make_contract()
    carol = make_user("carol", "finance_approver")
    dave = make_user("dave", "finance")
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    delegation_create(by=carol, delegate=dave, starts_on=tomorrow, ends_on=tomorrow)
    request = terms_request(setup.contract, make_user("ann", "finance"))

    with pytest.raises(NotAllowed):
        change_request_approve(request_id=request.pk, by=dave)


def test_delegation_to_self_refused():
    carol = make_user("carol", "finance_approver")
    today = timezone.localdate()

    with pytest.raises(InvalidInput):
        delegation_create(by=carol, delegate=carol, starts_on=today, ends_on=today)


def test_delegation_to_inactive_user_refused():
    carol = make_user("carol", "finance_approver")
    gone = make_user("gone", "finance", active=False)
    today = timezone.localdate()

    with pytest.raises(InvalidInput) as raised:
        delegation_create(by=carol, delegate=gone, starts_on=today, ends_on=today)

    assert raised.value.place == "delegate"


def test_delegation_dates_validated():
    carol = make_user("carol", "finance_approver")
    dave = make_user("dave", "finance")
    today = timezone.localdate()

    with pytest.raises(InvalidInput) as backwards:
        delegation_create(by=carol, delegate=dave, starts_on=today, ends_on=today - dt.timedelta(1))
    with pytest.raises(InvalidInput) as past:
        delegation_create(
            by=carol,
            delegate=dave,
            starts_on=today - dt.timedelta(days=5),
            ends_on=today - dt.timedelta(days=1),
        )

    assert backwards.value.place == "ends_on"
    assert "past" in past.value.message


def test_delegation_needs_permission():
    dave = make_user("dave", "finance")

    with pytest.raises(NotAllowed):
        delegation_create(
            by=dave,
            delegate=make_user("fred", "finance"),
            starts_on=timezone.localdate(),
            ends_on=timezone.localdate(),
        )


def test_delegation_audited():
    carol = make_user("carol", "finance_approver")
    today = timezone.localdate()

    delegation = delegation_create(
        by=carol,
        delegate=make_user("dave", "finance"),
        starts_on=today,
        ends_on=today,
        reason="leave",
    )

    entry = AuditEntry.objects.get(action="delegation.create")
    assert entry.record_id == str(delegation.pk)
    assert entry.after["delegate"] == "dave"


def test_delegate_of_two_counts_once():
    setup = make_contract()
    two_approvers_rule()
    dave = make_user("dave", "finance")
    today = timezone.localdate()
    for name in ("carol", "erin"):
        delegator = make_user(name, "finance_approver")
        delegation_create(by=delegator, delegate=dave, starts_on=today, ends_on=today)
    request = terms_request(setup.contract, make_user("ann", "finance"))
    change_request_approve(request_id=request.pk, by=dave)

    with pytest.raises(RuleViolation):
        change_request_approve(request_id=request.pk, by=dave)

    assert Approval.objects.get().on_behalf_of.username == "carol"
