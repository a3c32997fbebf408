"""The activation gate: mandatory fields, the signed SOW, approved bespoke terms, imports."""

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from billguard.billing.run import billing_run_execute
from billguard.controls.models import AuditEntry, ChangeRequest
from billguard.controls.roles import roles_install
from billguard.controls.template_appliers import ContractActivationApplier
from billguard.controls.templates import contract_template_set
from billguard.domain.errors import NotAllowed, RuleViolation
from billguard.domain.periods import parse_period
from billguard.registry.activation import ActivationBlocked
from billguard.registry.models import Contract
from billguard.registry.services.contracts import contract_activate, contract_create
from billguard.registry.terms import terms_from_version
from tests.factories import make_contract, make_sow

pytestmark = pytest.mark.django_db


def user_with_role(username: str, role: str) -> User:
    groups = {group.name: group for group in roles_install()}
    user = User.objects.create_user(username=username)
    user.groups.add(groups[role])
    return user


def bespoke_contract(number: str = "C-1") -> Contract:
    """A draft services contract whose liquidated damages deviate from the template."""
    contract_template_set(contract_type="services", liquidated_damages="None.")
    return make_contract(number, draft=True, liquidated_damages="1 % per day of delay.").contract


def approved_request(contract: Contract, fields: list[str], *, status: str = "approved"):
    requester = User.objects.create_user(username=f"requester-{contract.pk}-{len(fields)}")
    return ChangeRequest.objects.create(
        target="contract_activation",
        target_id=str(contract.pk),
        changes={"bespoke_fields": fields},
        status=status,
        requested_by=requester,
        requested_at=timezone.now(),
    )


def test_clean_contract_activates():
    contract = make_contract(draft=True).contract

    contract_activate(contract=contract)

    contract.refresh_from_db()
    assert contract.status == Contract.Status.ACTIVE
    assert contract.activated_at is not None
    entry = AuditEntry.objects.get(action="contract.activate")
    assert entry.record_id == str(contract.pk)
    assert entry.before == {"status": "draft"}
    assert entry.after["status"] == "active"
    assert entry.after["version"] == 1
    assert entry.actor == "system"


def test_new_contract_is_draft():
    contract = make_contract(draft=True).contract

    assert contract.status == Contract.Status.DRAFT
    assert contract.activated_at is None


def test_every_empty_mandatory_field_named():
    contract = make_contract(
        draft=True,
        bill_to_id=None,
        tax_category="",
        cadence="",
        escalation_contact="",
        payment_terms_days=None,
    ).contract

    with pytest.raises(ActivationBlocked) as error:
        contract_activate(contract=contract)

    fields = [p.field for p in error.value.problems]
    assert fields == [
        "bill_to",
        "tax_category",
        "cadence",
        "escalation_contact",
        "payment_terms_days",
    ]
    assert {p.code for p in error.value.problems} == {"MANDATORY_FIELD_EMPTY"}
    message = str(error.value)
    for label in ("bill-to entity", "tax treatment", "billing cadence", "escalation contact"):
        assert label in message
    assert "payment terms" in message
    assert all(p.fix for p in error.value.problems)
    contract.refresh_from_db()
    assert contract.status == Contract.Status.DRAFT
    assert not AuditEntry.objects.filter(action="contract.activate").exists()


def test_no_sow_refused():
    contract = make_contract(draft=True, sow_document_id=None).contract

    with pytest.raises(ActivationBlocked) as error:
        contract_activate(contract=contract)

    assert [p.code for p in error.value.problems] == ["SOW_MISSING"]


def test_no_sow_refused_for_every_type():
    contract = make_contract(draft=True, contract_type="subscription", sow_document_id=None)

    with pytest.raises(ActivationBlocked) as error:
        contract_activate(contract=contract.contract)

    assert [p.code for p in error.value.problems] == ["SOW_MISSING"]


def test_unsigned_sow_refused():
    unsigned = make_sow("SOW-UNSIGNED", signed_on=None)
    contract = make_contract(draft=True, sow_document_id=unsigned.pk).contract

    with pytest.raises(ActivationBlocked) as error:
        contract_activate(contract=contract)

    assert [p.code for p in error.value.problems] == ["SOW_UNSIGNED"]
    assert "SOW-UNSIGNED revision 1" in str(error.value)


def test_all_problems_reported_at_once():
    contract_template_set(contract_type="services", liquidated_damages="None.")
    contract = make_contract(
        draft=True,
        sow_document_id=None,
        escalation_contact="",
        liquidated_damages="1 % per day of delay.",
    ).contract

    with pytest.raises(ActivationBlocked) as error:
        contract_activate(contract=contract)

    assert [p.code for p in error.value.problems] == [
        "MANDATORY_FIELD_EMPTY",
        "SOW_MISSING",
        "BESPOKE_NOT_APPROVED",
    ]


def test_bespoke_without_approval_refused():
    contract = bespoke_contract()

    with pytest.raises(ActivationBlocked) as error:
        contract_activate(contract=contract)

    assert [p.code for p in error.value.problems] == ["BESPOKE_NOT_APPROVED"]
    assert "liquidated_damages" in str(error.value)


@pytest.mark.parametrize("status", ["pending", "rejected", "withdrawn"])
def test_bespoke_with_undecided_request_refused(status):
    contract = bespoke_contract()
    approved_request(contract, ["liquidated_damages"], status=status)

    with pytest.raises(ActivationBlocked):
        contract_activate(contract=contract)


def test_bespoke_with_approval_of_other_field_refused():
    contract = bespoke_contract()
    approved_request(contract, ["termination_rights"])

    with pytest.raises(ActivationBlocked):
        contract_activate(contract=contract)


def test_bespoke_with_approved_request_activates():
    contract = bespoke_contract()
    request = approved_request(contract, ["liquidated_damages"])

    contract_activate(contract=contract)

    contract.refresh_from_db()
    assert contract.status == Contract.Status.ACTIVE
    entry = AuditEntry.objects.get(action="contract.activate")
    assert entry.after["bespoke_fields"] == ["liquidated_damages"]
    assert "liquidated_damages approved" in entry.reason
    assert entry.after["change_request"] is None
    assert request.status == ChangeRequest.Status.APPROVED


def test_already_active_refused():
    contract = make_contract().contract

    with pytest.raises(RuleViolation) as error:
        contract_activate(contract=contract)

    assert "already active" in str(error.value)


def test_activate_needs_contract_activate_action():
    contract = make_contract(draft=True).contract
    sales = user_with_role("sales.rep", "sales")
    finance = user_with_role("fin.clerk", "finance")

    with pytest.raises(NotAllowed):
        contract_activate(contract=contract, by=sales)
    contract_activate(contract=contract, by=finance)

    assert AuditEntry.objects.get(action="contract.activate").actor == "fin.clerk"


def test_approval_of_other_contract_rejected():
    contract = bespoke_contract()
    other = make_contract("C-2", customer_code="CUST-2", draft=True).contract
    request = approved_request(other, ["liquidated_damages"])

    with pytest.raises(RuleViolation) as error:
        contract_activate(contract=contract, approval=request)

    assert "not an approved activation" in str(error.value)


def test_imported_contract_active_with_audit():
    setup = make_contract(draft=True)
    version = setup.contract.versions.prefetch_related("lines").get()

    contract = contract_create(
        number="C-LEGACY",
        party=setup.party,
        seller_entity=setup.contract.seller_entity,
        contract_type="services",
        terms=terms_from_version(version),
        imported=True,
    )

    assert contract.status == Contract.Status.ACTIVE
    assert contract.activated_at is not None
    entry = AuditEntry.objects.get(action="contract.create", record_id=str(contract.pk))
    assert entry.after["status"] == "active"
    assert entry.after["imported"] is True
    assert "imported from another system" in entry.reason


def test_factory_imports_contract_that_fails_gate():
    contract = make_contract(sow_document_id=None).contract

    assert contract.status == Contract.Status.ACTIVE
    entry = AuditEntry.objects.get(action="contract.create")
    assert entry.after["imported"] is True
    assert not AuditEntry.objects.filter(action="contract.activate").exists()


def test_billing_run_skips_draft_contracts():
    make_contract("C-1")
    make_contract("C-2", customer_code="CUST-2", draft=True)

    result = billing_run_execute(period=parse_period("2026-11"))

    assert result.contracts_considered == 1
    assert [o.contract_number for o in result.outcomes] == ["C-1"]


def test_billing_run_of_draft_contract_refused():
    make_contract("C-2", draft=True)

    with pytest.raises(RuleViolation) as error:
        billing_run_execute(period=parse_period("2026-11"), contract_number="C-2")

    assert error.value.place == "--contract"
    assert "draft" in str(error.value)


def test_applier_snapshot_label_scope_categories():
    contract = bespoke_contract()
    contract.party.customer_group = "enterprise"
    contract.party.save()
    applier = ContractActivationApplier()
    target_id = str(contract.pk)

    snapshot = applier.snapshot(target_id, {"bespoke_fields": ["liquidated_damages"]})

    assert snapshot == {"bespoke_fields": ["liquidated_damages"], "status": "draft"}
    assert applier.label(target_id) == "C-1"
    assert applier.scope(target_id) == ("enterprise", "services")
    assert applier.categories({"bespoke_fields": ["liquidated_damages"]}) == []


def test_applier_apply_activates():
    contract = bespoke_contract()
    request = approved_request(contract, ["liquidated_damages"])
    approver = user_with_role("approver", "finance_approver")

    result = ContractActivationApplier().apply(request, by=approver)

    assert result == {"status": "active"}
    contract.refresh_from_db()
    assert contract.status == Contract.Status.ACTIVE
    entry = AuditEntry.objects.get(action="contract.activate")
    assert entry.actor == "approver"
    assert entry.after["change_request"] == request.pk


def test_applier_apply_still_needs_signed_sow():
    contract_template_set(contract_type="services", liquidated_damages="None.")
    contract = make_contract(
        draft=True, sow_document_id=None, liquidated_damages="1 % per day of delay."
    ).contract
    request = approved_request(contract, ["liquidated_damages"])

    with pytest.raises(ActivationBlocked) as error:
        ContractActivationApplier().apply(request, by=None)

    assert [p.code for p in error.value.problems] == ["SOW_MISSING"]


def test_request_bespoke_approval_creates_change_request():
    from billguard.registry.services.contracts import contract_request_bespoke_approval

    contract = bespoke_contract()
    sales = user_with_role("sales.rep", "sales")

    request = contract_request_bespoke_approval(
        contract=contract, by=sales, reason="Customer insisted on delay penalties"
    )

    assert request.target == "contract_activation"
    assert request.target_id == str(contract.pk)
    assert request.changes == {"bespoke_fields": ["liquidated_damages"]}
    assert request.before == {"bespoke_fields": ["liquidated_damages"], "status": "draft"}


def test_request_bespoke_approval_refused_without_deviation():
    from billguard.registry.services.contracts import contract_request_bespoke_approval

    contract = make_contract(draft=True).contract
    sales = user_with_role("sales.rep", "sales")

    with pytest.raises(RuleViolation) as error:
        contract_request_bespoke_approval(contract=contract, by=sales, reason="none")

    assert "needs no bespoke approval" in str(error.value)


def test_request_bespoke_approval_refused_while_sow_missing():
    from billguard.registry.services.contracts import contract_request_bespoke_approval

    contract_template_set(contract_type="services", liquidated_damages="None.")
    contract = make_contract(
        draft=True, sow_document_id=None, liquidated_damages="1 % per day of delay."
    ).contract
    sales = user_with_role("sales.rep", "sales")

    with pytest.raises(ActivationBlocked) as error:
        contract_request_bespoke_approval(contract=contract, by=sales, reason="penalties")

    assert [p.code for p in error.value.problems] == ["SOW_MISSING"]
