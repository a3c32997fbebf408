"""The emergency path: applied at once by an administrator, reviewed by a second person, and
drafts held until then."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billguard.checks.engine import run_checks
from billguard.checks.selectors import ContextRequest, load_contexts
from billguard.controls.models import AuditEntry, ChangeRequest, PolicySetting
from billguard.controls.requests import (
    change_emergency_apply,
    change_emergency_review,
    change_request_create,
)
from billguard.domain.errors import InvalidInput, NotAllowed, RuleViolation
from billguard.registry.models import BillToEntity, ContractVersion
from tests.acting_users import make_user
from tests.factories import checked_draft, make_contract

pytestmark = pytest.mark.django_db

CODE = "EMERGENCY_CHANGE_UNREVIEWED"
# Effective before the November 2026 period that the drafts of these tests bill.
EARLY = dt.date(2026, 10, 1)


def emergency(contract, by, changes=None, **options):
    return change_emergency_apply(
        by=by,
        target="contract",
        target_id=contract.pk,
        changes=changes or {"payment_terms_days": 45},
        reason="customer escalation, terms wrong on the live invoice",
        **options,
    )


def codes(contract):
    draft, context = checked_draft(contract, "2026-11")
    return [f.code for f in run_checks(draft, context, only={CODE})]


def test_emergency_applies_at_once():
    setup = make_contract()
    ada = make_user("ada", "administrator")

    request = emergency(setup.contract, ada)

    assert request.status == ChangeRequest.Status.APPLIED
    assert request.emergency is True
    assert request.review_due - request.requested_at == dt.timedelta(hours=48)
    version = ContractVersion.objects.filter(contract=setup.contract).latest("version_number")
    assert version.payment_terms_days == 45
    assert version.change_request_id == request.pk


def test_emergency_review_deadline_from_policy():
    setup = make_contract()
    PolicySetting.objects.create(key="emergency_review_hours", value=4)

    request = emergency(setup.contract, make_user("ada", "administrator"))

    assert request.review_due - request.requested_at == dt.timedelta(hours=4)


def test_emergency_audit_entry_flagged():
    setup = make_contract()

    request = emergency(setup.contract, make_user("ada", "administrator"))

    entry = AuditEntry.objects.get(action="change_request.emergency_apply")
    assert entry.record_id == str(request.pk)
    assert entry.after["emergency"] is True
    assert entry.actor == "ada"


def test_emergency_only_for_administrator():
    setup = make_contract()

    with pytest.raises(NotAllowed):
        emergency(setup.contract, make_user("bob", "finance_approver"))

    assert not ChangeRequest.objects.exists()


def test_emergency_needs_reason():
    setup = make_contract()

    with pytest.raises(InvalidInput):
        change_emergency_apply(
            by=make_user("ada", "administrator"),
            target="contract",
            target_id=setup.contract.pk,
            changes={"payment_terms_days": 45},
            reason="",
        )


def test_emergency_validates_changes():
    setup = make_contract()

    with pytest.raises(InvalidInput) as raised:
        emergency(setup.contract, make_user("ada", "administrator"), {"colour": "red"})

    assert raised.value.place == "changes.colour"


def test_review_by_second_person():
    setup = make_contract()
    request = emergency(setup.contract, make_user("ada", "administrator"))
    bob = make_user("bob", "finance_approver")

    reviewed = change_emergency_review(request_id=request.pk, by=bob, reason="checked the SOW")

    assert reviewed.reviewed_by == bob
    assert reviewed.reviewed_at is not None
    entry = AuditEntry.objects.get(action="change_request.emergency_review")
    assert entry.reason == "checked the SOW"


def test_review_by_requester_refused():
    setup = make_contract()
    ada = make_user("ada", "administrator")
    request = emergency(setup.contract, ada)

    with pytest.raises(NotAllowed):
        change_emergency_review(request_id=request.pk, by=ada)


def test_review_needs_review_permission():
    setup = make_contract()
    request = emergency(setup.contract, make_user("ada", "administrator"))

    with pytest.raises(NotAllowed):
        change_emergency_review(request_id=request.pk, by=make_user("fay", "finance"))


def test_review_twice_refused():
    setup = make_contract()
    request = emergency(setup.contract, make_user("ada", "administrator"))
    change_emergency_review(request_id=request.pk, by=make_user("bob", "finance_approver"))

    with pytest.raises(RuleViolation):
        change_emergency_review(request_id=request.pk, by=make_user("carl", "finance_approver"))


def test_review_of_ordinary_request_refused():
    setup = make_contract()
    request = change_request_create(
        by=make_user("ann", "finance"),
        target="contract",
        target_id=setup.contract.pk,
        changes={"payment_terms_days": 45},
        reason="x",
    )

    with pytest.raises(RuleViolation):
        change_emergency_review(request_id=request.pk, by=make_user("bob", "finance_approver"))


def test_check_holds_draft_of_changed_version():
    setup = make_contract()
    emergency(setup.contract, make_user("ada", "administrator"), effective_from=EARLY)

    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only={CODE})

    assert [f.code for f in findings] == [CODE]
    assert findings[0].blocks
    assert findings[0].evidence["contract_version"] == "2"
    assert findings[0].evidence["requested_by"] == "ada"


def test_check_clear_after_review():
    setup = make_contract()
    request = emergency(setup.contract, make_user("ada", "administrator"), effective_from=EARLY)
    change_emergency_review(request_id=request.pk, by=make_user("bob", "finance_approver"))

    assert codes(setup.contract) == []


def test_check_ignores_version_not_in_force():
    setup = make_contract()
    emergency(setup.contract, make_user("ada", "administrator"), effective_from=dt.date(2027, 3, 1))

    assert codes(setup.contract) == []


def test_check_ignores_other_contract():
    setup = make_contract()
    other = make_contract("C-2", customer_code="CUST-2")
    emergency(other.contract, make_user("ada", "administrator"), effective_from=EARLY)

    assert codes(setup.contract) == []


def test_check_holds_draft_of_changed_bill_to():
    setup = make_contract()
    change_emergency_apply(
        by=make_user("ada", "administrator"),
        target="bill_to",
        target_id=setup.bill_to.pk,
        changes={"street": "Leopoldstrasse 1"},
        reason="invoice returned by the post",
    )

    assert BillToEntity.objects.get(pk=setup.bill_to.pk).street == "Leopoldstrasse 1"
    assert codes(setup.contract) == [CODE]


def test_check_holds_draft_of_changed_schedule():
    setup = make_contract()
    change_emergency_apply(
        by=make_user("ada", "administrator"),
        target="schedule",
        target_id=setup.contract.schedule.pk,
        changes={"lines": {"L1": {"gl_account": "4100"}}},
        reason="wrong revenue account",
        effective_from=EARLY,
    )

    assert codes(setup.contract) == [CODE]


def test_check_loads_in_one_query_per_chunk():
    contracts = [make_contract(f"C-{n}", customer_code=f"CUST-{n}").contract for n in range(3)]
    ada = make_user("ada", "administrator")
    for contract in contracts:
        emergency(contract, ada, effective_from=EARLY)
    one = [ContextRequest(contracts[0].pk, None, dt.date(2026, 11, 1), dt.date(2026, 11, 30))]
    three = [
        ContextRequest(c.pk, None, dt.date(2026, 11, 1), dt.date(2026, 11, 30)) for c in contracts
    ]

    with CaptureQueriesContext(connection) as single:
        load_contexts(one, as_of=dt.date(2026, 11, 1))
    with CaptureQueriesContext(connection) as several:
        contexts = load_contexts(three, as_of=dt.date(2026, 11, 1))

    emergency_queries = [
        q for q in several.captured_queries if "controls_changerequest" in q["sql"]
    ]
    assert len(emergency_queries) == 1
    assert len(several.captured_queries) == len(single.captured_queries)
    assert [len(c.emergency_changes) for c in contexts] == [1, 1, 1]
