"""Making a change request: validation, the values it replaces, and the policy's verdict."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from billguard.controls.appliers import critical_fields
from billguard.controls.models import (
    ApprovalRule,
    AuditEntry,
    ChangeRequest,
    CriticalField,
    PolicySetting,
)
from billguard.controls.requests import change_request_create
from billguard.domain.errors import InvalidInput, NotAllowed
from billguard.registry.models import ContractVersion, Party
from tests.acting_users import make_user
from tests.factories import make_contract

pytestmark = pytest.mark.django_db


def request_on(contract, by, changes, **options):
    return change_request_create(
        by=by,
        target="contract",
        target_id=contract.pk,
        changes=changes,
        reason="renegotiated",
        **options,
    )


def test_create_records_before_and_categories():
    setup = make_contract()
    ann = make_user("ann", "finance")

    request = request_on(
        setup.contract,
        ann,
        {"payment_terms_days": 45, "lines": {"L1": {"unit_price": "1100.00"}}},
    )

    assert request.status == ChangeRequest.Status.PENDING
    assert request.before == {
        "payment_terms_days": 30,
        "lines": {"L1": {"unit_price": "1000.000000"}},
    }
    assert request.categories == ["payment_terms", "price"]
    assert request.target_label == "contract C-1"
    assert request.requested_by == ann


def test_create_without_rule_needs_one_approver():
    setup = make_contract()

    request = request_on(setup.contract, make_user("ann", "finance"), {"payment_terms_days": 45})

    assert len(request.required) == 1
    assert request.required[0]["role"] == ""
    assert request.required[0]["approvals"] == 1
    assert request.mode == "enforce"


def test_create_expires_after_policy_days():
    setup = make_contract()
    PolicySetting.objects.create(key="request_expiry_days", value=3)

    request = request_on(setup.contract, make_user("ann", "finance"), {"payment_terms_days": 45})

    assert request.expires_at - request.requested_at == dt.timedelta(days=3)


def test_create_default_expiry_is_fourteen_days():
    setup = make_contract()

    request = request_on(setup.contract, make_user("ann", "finance"), {"payment_terms_days": 45})

    assert request.expires_at - request.requested_at == dt.timedelta(days=14)


def test_create_is_audited():
    setup = make_contract()

    request = request_on(setup.contract, make_user("ann", "finance"), {"payment_terms_days": 45})

    entry = AuditEntry.objects.get(action="change_request.create")
    assert entry.record_id == str(request.pk)
    assert entry.actor == "ann"
    assert entry.after["changes"] == {"payment_terms_days": 45}
    assert entry.after["before"] == {"payment_terms_days": 30}
    assert entry.reason == "renegotiated"


def test_create_rejects_unknown_attribute():
    setup = make_contract()

    with pytest.raises(InvalidInput) as raised:
        request_on(setup.contract, make_user("ann", "finance"), {"colour": "blue"})

    assert raised.value.place == "changes.colour"
    assert "payment_terms_days" in raised.value.fix
    assert not ChangeRequest.objects.exists()


def test_create_rejects_bad_line_price():
    setup = make_contract()

    with pytest.raises(InvalidInput) as raised:
        request_on(
            setup.contract,
            make_user("ann", "finance"),
            {"lines": {"L1": {"unit_price": "twelve"}}},
        )

    assert raised.value.place == "changes.lines.L1.unit_price"


def test_create_rejects_unknown_currency():
    setup = make_contract()

    with pytest.raises(InvalidInput) as raised:
        request_on(setup.contract, make_user("ann", "finance"), {"currency": "XYZ"})

    assert raised.value.place == "currency"


def test_create_rejects_text_for_whole_number():
    setup = make_contract()

    with pytest.raises(InvalidInput) as raised:
        request_on(setup.contract, make_user("ann", "finance"), {"payment_terms_days": "45"})

    assert raised.value.place == "changes.payment_terms_days"


def test_create_rejects_new_line_without_kind():
    setup = make_contract()

    with pytest.raises(InvalidInput) as raised:
        request_on(
            setup.contract,
            make_user("ann", "finance"),
            {"lines": {"L9": {"unit_price": "10"}}},
        )

    assert raised.value.place == "changes.lines.L9"


def test_create_rejects_date_before_current_version():
    setup = make_contract()

    with pytest.raises(InvalidInput) as raised:
        request_on(
            setup.contract,
            make_user("ann", "finance"),
            {"payment_terms_days": 45},
            effective_from=dt.date(2026, 1, 1),
        )

    assert raised.value.place == "effective_from"


def test_create_rejects_empty_changes():
    setup = make_contract()

    with pytest.raises(InvalidInput) as raised:
        request_on(setup.contract, make_user("ann", "finance"), {})

    assert raised.value.place == "changes"


def test_create_rejects_unknown_target():
    with pytest.raises(InvalidInput) as raised:
        change_request_create(
            by=make_user("ann", "finance"),
            target="planet",
            target_id=1,
            changes={"x": 1},
            reason="",
        )

    assert raised.value.place == "target"


def test_create_refused_without_role():
    setup = make_contract()

    with pytest.raises(NotAllowed):
        request_on(setup.contract, make_user("otto", "auditor"), {"payment_terms_days": 45})


def test_create_refused_for_field_outside_role():
    setup = make_contract()

    with pytest.raises(NotAllowed) as raised:
        request_on(setup.contract, make_user("sam", "sales"), {"currency": "USD"})

    assert "currency" in raised.value.message


def test_rule_matches_field_category():
    setup = make_contract()
    ApprovalRule.objects.create(
        name="terms need two", subject="payment_terms", role="finance_approver", approvals=2
    )

    request = request_on(setup.contract, make_user("ann", "finance"), {"payment_terms_days": 45})

    assert [(r["rule"], r["role"], r["approvals"]) for r in request.required] == [
        ("terms need two", "finance_approver", 2)
    ]


def test_rule_for_other_category_not_applied():
    setup = make_contract()
    ApprovalRule.objects.create(name="currency", subject="currency", role="administrator")

    request = request_on(setup.contract, make_user("ann", "finance"), {"payment_terms_days": 45})

    assert [r["rule"] for r in request.required] == [""]


def test_rule_with_explicit_subject():
    setup = make_contract()
    ApprovalRule.objects.create(
        name="bespoke escalation", subject="bespoke:escalation_clause", role="administrator"
    )

    request = request_on(
        setup.contract,
        make_user("ann", "finance"),
        {"escalation_contact": "cfo@northwind.example"},
        subjects=["bespoke:escalation_clause"],
    )

    assert [r["rule"] for r in request.required] == ["bespoke escalation"]
    assert request.categories == []


def test_discount_threshold_exceeded():
    setup = make_contract()
    ApprovalRule.objects.create(
        name="big discount", subject="discount", role="administrator", threshold=Decimal("10")
    )

    request = request_on(
        setup.contract,
        make_user("ann", "finance"),
        {"discounts": [{"percent": "12", "line_code": "L1"}]},
    )

    assert [r["rule"] for r in request.required] == ["big discount"]


def test_discount_under_threshold_not_matched():
    setup = make_contract()
    ApprovalRule.objects.create(
        name="big discount", subject="discount", role="administrator", threshold=Decimal("10")
    )

    request = request_on(
        setup.contract,
        make_user("ann", "finance"),
        {"discounts": [{"percent": "8", "line_code": "L1"}]},
    )

    assert [r["rule"] for r in request.required] == [""]


def test_price_change_percent_against_threshold():
    setup = make_contract()
    ApprovalRule.objects.create(
        name="price jump", subject="price", role="administrator", threshold=Decimal("10")
    )
    ann = make_user("ann", "finance")

    small = request_on(setup.contract, ann, {"lines": {"L1": {"unit_price": "1050.00"}}})
    large = request_on(setup.contract, ann, {"lines": {"L1": {"unit_price": "1200.00"}}})

    assert [r["rule"] for r in small.required] == [""]
    assert [r["rule"] for r in large.required] == ["price jump"]


def test_given_size_replaces_computed():
    setup = make_contract()
    ApprovalRule.objects.create(
        name="big discount", subject="discount", role="administrator", threshold=Decimal("10")
    )

    request = request_on(
        setup.contract,
        make_user("ann", "finance"),
        {"discounts": [{"percent": "8", "line_code": "L1"}]},
        sizes={"discount": 15},
    )

    assert [r["rule"] for r in request.required] == ["big discount"]


def test_rule_scoped_to_customer_group():
    setup = make_contract()
    Party.objects.filter(pk=setup.party.pk).update(customer_group="enterprise")
    ApprovalRule.objects.create(
        name="enterprise terms",
        subject="payment_terms",
        role="administrator",
        scope="customer_group",
        scope_value="enterprise",
    )
    ApprovalRule.objects.create(
        name="smb terms",
        subject="payment_terms",
        role="finance_approver",
        scope="customer_group",
        scope_value="smb",
    )

    request = request_on(setup.contract, make_user("ann", "finance"), {"payment_terms_days": 45})

    assert [r["rule"] for r in request.required] == ["enterprise terms"]


def test_rule_scoped_to_contract_type():
    setup = make_contract(contract_type="subscription")
    ApprovalRule.objects.create(
        name="services terms",
        subject="payment_terms",
        role="administrator",
        scope="contract_type",
        scope_value="services",
    )

    request = request_on(setup.contract, make_user("ann", "finance"), {"payment_terms_days": 45})

    assert [r["rule"] for r in request.required] == [""]


def test_observe_mode_applies_at_once():
    setup = make_contract()
    ApprovalRule.objects.create(
        name="terms observed", subject="payment_terms", role="administrator", mode="observe"
    )

    request = request_on(setup.contract, make_user("ann", "finance"), {"payment_terms_days": 45})

    assert request.status == ChangeRequest.Status.APPLIED
    assert request.mode == "observe"
    assert not request.approvals.exists()
    latest = ContractVersion.objects.filter(contract=setup.contract).latest("version_number")
    assert latest.payment_terms_days == 45
    assert latest.change_request_id == request.pk


def test_observe_and_enforce_rules_wait_for_approval():
    setup = make_contract()
    ApprovalRule.objects.create(
        name="terms observed", subject="payment_terms", role="administrator", mode="observe"
    )
    ApprovalRule.objects.create(name="prices", subject="price", role="finance_approver")

    request = request_on(
        setup.contract,
        make_user("ann", "finance"),
        {"payment_terms_days": 45, "lines": {"L1": {"unit_price": "1100.00"}}},
    )

    assert request.status == ChangeRequest.Status.PENDING
    assert request.mode == "enforce"


def test_critical_field_rows_replace_defaults():
    CriticalField.objects.create(
        target="contract", attribute="escalation_contact", category="bill_to"
    )
    setup = make_contract()

    request = request_on(
        setup.contract,
        make_user("ann", "finance"),
        {"escalation_contact": "cfo@northwind.example", "payment_terms_days": 45},
    )

    assert critical_fields("contract") == {"escalation_contact": "bill_to"}
    assert request.categories == ["bill_to"]


def test_requested_at_is_now():
    setup = make_contract()
    before = timezone.now()

    request = request_on(setup.contract, make_user("ann", "finance"), {"payment_terms_days": 45})

    assert before <= request.requested_at <= timezone.now()
