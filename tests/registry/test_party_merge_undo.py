"""Undoing a party merge: exactly the re-pointed rows go back, unless something was issued."""

from __future__ import annotations

import pytest

from billguard.controls.models import AuditEntry
from billguard.controls.policy_yaml import policy_seed
from billguard.domain.errors import InvalidInput, NotAllowed, NotFound, RuleViolation
from billguard.procurement.models import OnboardingItem, PurchaseOrder
from billguard.registry.models import (
    BillToEntity,
    Contract,
    DuplicateCandidate,
    Party,
    PartyMerge,
    VendorBankAccount,
)
from billguard.registry.party_merge import party_merge_undo
from billguard.registry.services.parties import bill_to_create, party_create
from tests.acting_users import make_user
from tests.factories import make_contract
from tests.registry.merge_setup import (
    actors,
    candidate_for,
    duplicate_customers,
    merge_approved,
    vendor,
    vendor_records,
)

pytestmark = pytest.mark.django_db

REASON = "Two legal entities of one group, not duplicates"


def test_undo_restores_repointed_rows():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    pair = candidate_for(customers.survivor, customers.merged)
    merge = merge_approved(customers.survivor, customers.merged, people)

    undone = party_merge_undo(merge_id=merge.pk, by=people.checker, reason=REASON)

    merged = Party.objects.get(pk=customers.merged.pk)
    assert merged.merged_into_id is None
    assert merged.archived_at is None
    assert Contract.objects.get(pk=customers.merged_contract.pk).party_id == customers.merged.pk
    assert BillToEntity.objects.get(pk=customers.merged_bill_to.pk).party_id == (
        customers.merged.pk
    )
    assert Contract.objects.get(pk=customers.survivor_contract.pk).party_id == (
        customers.survivor.pk
    )
    pair.refresh_from_db()
    assert pair.status == DuplicateCandidate.Status.OPEN
    assert pair.decided_at is None
    assert undone.undone_by == "alex.approver"
    assert undone.undone_at is not None


def test_undo_leaves_survivor_rows_made_after_merge():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    merge = merge_approved(customers.survivor, customers.merged, people)
    later = bill_to_create(
        party=customers.survivor, code="CUST-100-BT2", name="Northwind Traders", country="DE"
    )

    party_merge_undo(merge_id=merge.pk, by=people.checker, reason=REASON)

    assert BillToEntity.objects.get(pk=later.pk).party_id == customers.survivor.pk
    assert BillToEntity.objects.filter(party=customers.survivor).count() == 2


def test_undo_restores_vendor_records_and_primary_account():
    policy_seed()
    people = actors()
    contract = make_contract("C-300", customer_code="CUST-300").contract
    survivor, merged = vendor("VEND-1"), vendor("VEND-2")
    vendor_records(survivor, contract=contract, suffix="1")
    vendor_records(merged, contract=contract, suffix="2")
    legal_review = OnboardingItem.objects.create(vendor=merged, requirement="legal_review")
    merge = merge_approved(survivor, merged, people)

    party_merge_undo(merge_id=merge.pk, by=people.checker, reason=REASON)

    assert PurchaseOrder.objects.get(number="PO-2").vendor_id == merged.pk
    assert PurchaseOrder.objects.get(number="PO-1").vendor_id == survivor.pk
    assert OnboardingItem.objects.get(pk=legal_review.pk).vendor_id == merged.pk
    account = VendorBankAccount.objects.get(party=merged)
    assert account.is_primary is True
    assert VendorBankAccount.objects.filter(party=survivor, is_primary=True).count() == 1


def test_undo_restores_moved_candidates():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    third = party_create(code="CUST-300", kind="customer", name="Northwind", country="DE")
    moved = candidate_for(customers.merged, third, "same name")
    before = (moved.party_id, moved.other_party_id)
    merge = merge_approved(customers.survivor, customers.merged, people)

    party_merge_undo(merge_id=merge.pk, by=people.checker, reason=REASON)

    moved.refresh_from_db()
    assert (moved.party_id, moved.other_party_id) == before


def test_undo_skips_row_moved_elsewhere_since():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    third = party_create(code="CUST-300", kind="customer", name="Northwind", country="DE")
    merge = merge_approved(customers.survivor, customers.merged, people)
    Contract.objects.filter(pk=customers.merged_contract.pk).update(party=third)

    party_merge_undo(merge_id=merge.pk, by=people.checker, reason=REASON)

    assert Contract.objects.get(pk=customers.merged_contract.pk).party_id == third.pk
    entry = AuditEntry.objects.get(action="party_merge.undo", record_id=str(merge.pk))
    assert entry.after["not_restored"] == {
        "registry.contract.party": [customers.merged_contract.pk]
    }


def test_undo_writes_audit_entries():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    merge = merge_approved(customers.survivor, customers.merged, people)

    party_merge_undo(merge_id=merge.pk, by=people.checker, reason=REASON)

    party_entry = AuditEntry.objects.get(action="party.unmerge")
    merge_entry = AuditEntry.objects.get(action="party_merge.undo")
    assert party_entry.record_id == str(customers.merged.pk)
    assert party_entry.reason == REASON
    assert merge_entry.actor == "alex.approver"
    assert merge_entry.after["restored"]["registry.contract.party"] == 1


def test_undo_twice_is_refused():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    merge = merge_approved(customers.survivor, customers.merged, people)
    party_merge_undo(merge_id=merge.pk, by=people.checker, reason=REASON)

    with pytest.raises(RuleViolation) as refused:
        party_merge_undo(merge_id=merge.pk, by=people.checker, reason=REASON)

    assert "already undone" in str(refused.value)


def test_undo_needs_reason_and_known_merge():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    merge = merge_approved(customers.survivor, customers.merged, people)

    with pytest.raises(InvalidInput) as no_reason:
        party_merge_undo(merge_id=merge.pk, by=people.checker, reason="  ")
    with pytest.raises(NotFound) as unknown:
        party_merge_undo(merge_id=merge.pk + 100, by=people.checker, reason=REASON)

    assert no_reason.value.place == "reason"
    assert str(merge.pk + 100) in str(unknown.value)
    assert Party.objects.get(pk=customers.merged.pk).merged_into_id == customers.survivor.pk


def test_finance_user_cannot_undo():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    merge = merge_approved(customers.survivor, customers.merged, people)

    with pytest.raises(NotAllowed):
        party_merge_undo(merge_id=merge.pk, by=people.maker, reason=REASON)

    assert PartyMerge.objects.get(pk=merge.pk).undone_at is None


def test_undo_after_survivor_merged_again_is_refused():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    third = party_create(code="CUST-300", kind="customer", name="Northwind", country="DE")
    first = merge_approved(customers.survivor, customers.merged, people)
    merge_approved(third, customers.survivor, people)

    with pytest.raises(RuleViolation) as refused:
        party_merge_undo(merge_id=first.pk, by=people.checker, reason=REASON)

    assert "Undo the later merge of the survivor first" in str(refused.value)


def test_undo_by_administrator():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    merge = merge_approved(customers.survivor, customers.merged, people)
    admin = make_user("ada.admin", "administrator")

    party_merge_undo(merge_id=merge.pk, by=admin, reason=REASON)

    assert PartyMerge.objects.get(pk=merge.pk).undone_by == "ada.admin"
