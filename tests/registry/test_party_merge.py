"""Merging a duplicate party as a change request: the request, its approval and what moves."""

from __future__ import annotations

import pytest

from billguard.controls.models import AuditEntry, ChangeRequest
from billguard.controls.policy_yaml import policy_seed
from billguard.controls.requests import change_request_approve
from billguard.domain.errors import InvalidInput, NotAllowed, NotFound, RuleViolation
from billguard.procurement.models import (
    CostLink,
    MatchTolerance,
    OnboardingItem,
    PurchaseOrder,
    VendorCertification,
    VendorInvoice,
    VendorProfile,
    VendorScore,
)
from billguard.registry import merge_relations
from billguard.registry.merge_relations import party_relations, relation_reasons
from billguard.registry.models import (
    BillToEntity,
    Contract,
    DuplicateCandidate,
    Party,
    PartyMerge,
    VendorBankAccount,
)
from billguard.registry.services.parties import party_create
from tests.acting_users import make_user
from tests.factories import make_contract
from tests.registry.merge_setup import (
    actors,
    candidate_for,
    duplicate_customers,
    merge_approved,
    merge_request,
    vendor,
    vendor_records,
)

pytestmark = pytest.mark.django_db


def test_merge_request_waits_for_one_approval():
    policy_seed()
    people = actors()
    customers = duplicate_customers()

    request = merge_request(customers.survivor, customers.merged, people)

    assert request.status == ChangeRequest.Status.PENDING
    assert request.target == "party_merge"
    assert request.target_id == str(customers.merged.pk)
    assert request.changes == {"merge_into": customers.survivor.pk}
    assert request.categories == ["party_identity"]
    assert [(r["rule"], r["role"], r["approvals"]) for r in request.required] == [
        ("party merge", "", 1)
    ]
    assert Contract.objects.get(pk=customers.merged_contract.pk).party_id == customers.merged.pk
    assert Party.objects.get(pk=customers.merged.pk).merged_into_id is None


def test_merge_approved_repoints_contracts_and_bill_tos():
    policy_seed()
    people = actors()
    customers = duplicate_customers()

    merge = merge_approved(customers.survivor, customers.merged, people)

    merged = Party.objects.get(pk=customers.merged.pk)
    assert merged.merged_into_id == customers.survivor.pk
    assert merged.archived_at is not None
    assert Contract.objects.get(pk=customers.merged_contract.pk).party_id == customers.survivor.pk
    assert BillToEntity.objects.get(pk=customers.merged_bill_to.pk).party_id == (
        customers.survivor.pk
    )
    assert merge.repointed["registry.contract.party"] == [customers.merged_contract.pk]
    assert merge.repointed["registry.billtoentity.party"] == [customers.merged_bill_to.pk]
    assert merge.merged_by == "alex.approver"
    assert merge.undone_at is None


def test_survivor_records_stay_where_they_are():
    policy_seed()
    people = actors()
    customers = duplicate_customers()

    merge_approved(customers.survivor, customers.merged, people)

    assert Contract.objects.filter(party=customers.survivor).count() == 2
    assert Contract.objects.get(pk=customers.survivor_contract.pk).party_id == (
        customers.survivor.pk
    )
    assert Party.objects.get(pk=customers.survivor.pk).merged_into_id is None


def test_administrator_alone_approves_merge():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    admin = make_user("ada.admin", "administrator")
    request = merge_request(customers.survivor, customers.merged, people)

    approved = change_request_approve(request_id=request.pk, by=admin)

    assert approved.status == ChangeRequest.Status.APPLIED
    assert Party.objects.get(pk=customers.merged.pk).merged_into_id == customers.survivor.pk


def test_requester_cannot_approve_own_merge():
    policy_seed()
    customers = duplicate_customers()
    admin = make_user("ada.admin", "administrator")
    request = merge_request(customers.survivor, customers.merged, actors_with(admin))

    with pytest.raises(NotAllowed) as refused:
        change_request_approve(request_id=request.pk, by=admin)

    assert "cannot approve it" in str(refused.value)
    assert ChangeRequest.objects.get(pk=request.pk).status == ChangeRequest.Status.PENDING
    assert Party.objects.get(pk=customers.merged.pk).merged_into_id is None


def test_finance_user_cannot_approve_merge():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    request = merge_request(customers.survivor, customers.merged, people)
    other_finance = make_user("fred.finance", "finance")

    with pytest.raises(NotAllowed):
        change_request_approve(request_id=request.pk, by=other_finance)

    assert Party.objects.get(pk=customers.merged.pk).merged_into_id is None


# Who may request a merge: the party_dedupe action and the party_identity field category.
REQUESTERS = {
    "sales": False,
    "procurement": True,
    "finance": True,
    "finance_approver": False,
    "administrator": True,
    "auditor": False,
}


@pytest.mark.parametrize(("role", "allowed"), sorted(REQUESTERS.items()))
def test_role_may_request_merge(role, allowed):
    customers = duplicate_customers()
    requester = make_user(f"{role}.user", role)
    people = actors_with(requester)

    if allowed:
        request = merge_request(customers.survivor, customers.merged, people)
        assert request.status == ChangeRequest.Status.PENDING
    else:
        with pytest.raises(NotAllowed):
            merge_request(customers.survivor, customers.merged, people)
        assert not ChangeRequest.objects.exists()


def test_every_relation_to_party_has_a_rule():
    labels = [relation.label for relation in party_relations()]
    reasons = relation_reasons()

    unruled = [label for label in labels if label not in reasons]
    assert unruled == [], f"no merge rule for {unruled}: re-point them or keep them with a reason"
    assert "registry.duplicatecandidate.party" in labels
    for label in labels:
        verdict, _, reason = reasons[label].partition(": ")
        assert verdict in ("re-pointed", "kept")
        assert reason.strip(), f"{label} has no reason"
        if verdict == "kept":
            assert len(reason) > 40, f"{label} is kept without a real reason"


def test_relation_without_rule_stops_merge(monkeypatch):
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    rules = dict(merge_relations.RELATION_RULES)
    del rules["registry.contract.party"]
    monkeypatch.setattr(merge_relations, "RELATION_RULES", rules)
    request = merge_request(customers.survivor, customers.merged, people)

    with pytest.raises(RuleViolation) as refused:
        change_request_approve(request_id=request.pk, by=people.checker)

    assert "registry.contract.party" in str(refused.value)
    assert Contract.objects.get(pk=customers.merged_contract.pk).party_id == customers.merged.pk
    assert not PartyMerge.objects.exists()


def test_vendor_merge_repoints_procurement_records():
    policy_seed()
    people = actors()
    contract = make_contract("C-300", customer_code="CUST-300").contract
    survivor, merged = vendor("VEND-1"), vendor("VEND-2")
    vendor_records(survivor, contract=contract, suffix="1")
    vendor_records(merged, contract=contract, suffix="2")
    legal_review = OnboardingItem.objects.create(vendor=merged, requirement="legal_review")
    software = MatchTolerance.objects.create(vendor=merged, category="software")

    merge = merge_approved(survivor, merged, people)

    for model in (PurchaseOrder, VendorInvoice, CostLink, VendorCertification):
        assert model.objects.filter(vendor=merged).count() == 0, model.__name__
        assert model.objects.filter(vendor=survivor).count() == 2, model.__name__
    assert OnboardingItem.objects.get(pk=legal_review.pk).vendor_id == survivor.pk
    assert OnboardingItem.objects.get(vendor=merged).requirement == "tax_form"
    assert MatchTolerance.objects.get(pk=software.pk).vendor_id == survivor.pk
    assert MatchTolerance.objects.get(vendor=merged).category == "hardware"
    assert VendorProfile.objects.filter(vendor=merged).count() == 1
    assert VendorScore.objects.filter(vendor=merged).count() == 1
    assert VendorBankAccount.objects.filter(party=survivor).count() == 2
    assert VendorBankAccount.objects.filter(party=survivor, is_primary=True).count() == 1
    assert len(merge.repointed["registry.vendorbankaccount.is_primary"]) == 1


def test_vendor_profile_moves_when_survivor_has_none():
    policy_seed()
    people = actors()
    survivor, merged = vendor("VEND-1"), vendor("VEND-2")
    profile = VendorProfile.objects.create(vendor=merged, category="Logistics")
    account = VendorBankAccount.objects.create(
        party=merged, iban="DE89370400440532013000", is_primary=True
    )

    merge = merge_approved(survivor, merged, people)

    assert VendorProfile.objects.get(pk=profile.pk).vendor_id == survivor.pk
    assert VendorBankAccount.objects.get(pk=account.pk).is_primary is True
    assert "registry.vendorbankaccount.is_primary" not in merge.repointed


def test_rows_left_are_kept_ones():
    policy_seed()
    people = actors()
    contract = make_contract("C-300", customer_code="CUST-300").contract
    survivor, merged = vendor("VEND-1"), vendor("VEND-2")
    vendor_records(survivor, contract=contract, suffix="1")
    vendor_records(merged, contract=contract, suffix="2")

    merge = merge_approved(survivor, merged, people)

    reasons = relation_reasons()
    for relation in party_relations():
        left = relation.model._default_manager.filter(**{relation.field_name: merged})
        if relation.model is Party or relation.model is PartyMerge:
            continue
        if left.exists():
            assert reasons[relation.label].startswith("kept") or relation.label in (
                "procurement.onboardingitem.vendor",
                "procurement.matchtolerance.vendor",
                "procurement.vendorprofile.vendor",
            ), f"{relation.label} left rows on the merged party"
        moved = merge.repointed.get(relation.label, [])
        assert not left.filter(pk__in=moved).exists(), relation.label


def test_duplicate_candidates_follow_the_merge():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    third = party_create(code="CUST-300", kind="customer", name="Northwind", country="DE")
    fourth = party_create(code="CUST-400", kind="customer", name="Northwind KG", country="DE")
    pair = candidate_for(customers.survivor, customers.merged)
    moved = candidate_for(customers.merged, third, "same name")
    candidate_for(customers.survivor, fourth, "same postcode")
    clash = candidate_for(customers.merged, fourth, "same postcode")

    merge = merge_approved(customers.survivor, customers.merged, people)

    pair.refresh_from_db()
    moved.refresh_from_db()
    clash.refresh_from_db()
    assert pair.status == DuplicateCandidate.Status.MERGED
    assert pair.decided_by == "alex.approver"
    assert {moved.party_id, moved.other_party_id} == {customers.survivor.pk, third.pk}
    assert moved.party_id < moved.other_party_id
    assert {clash.party_id, clash.other_party_id} == {customers.merged.pk, fourth.pk}
    assert merge.repointed["registry.duplicatecandidate.status"] == [pair.pk]


def test_earlier_merges_point_at_survivor():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    older = party_create(code="CUST-050", kind="customer", name="Northwind", country="DE")
    merge_approved(customers.merged, older, people)

    merge_approved(customers.survivor, customers.merged, people)

    assert Party.objects.get(pk=older.pk).merged_into_id == customers.survivor.pk


def test_merge_writes_audit_entries():
    policy_seed()
    people = actors()
    customers = duplicate_customers()

    merge = merge_approved(customers.survivor, customers.merged, people)

    party_entry = AuditEntry.objects.get(action="party.merge", record_id=str(customers.merged.pk))
    merge_entry = AuditEntry.objects.get(action="party_merge.create", record_id=str(merge.pk))
    assert party_entry.actor == "alex.approver"
    assert party_entry.after["merged_into"] == "CUST-100"
    assert merge_entry.after["repointed"]["registry.contract.party"] == 1
    assert merge_entry.after["change_request"] == merge.change_request_id
    assert AuditEntry.objects.filter(action="change_request.apply").count() == 1


def test_failed_merge_changes_nothing(monkeypatch):
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    candidate_for(customers.survivor, customers.merged)
    request = merge_request(customers.survivor, customers.merged, people)

    def broken(*args: object) -> None:
        raise RuleViolation("the candidate table is locked")

    monkeypatch.setattr("billguard.registry.party_merge._candidate_mark_merged", broken)
    with pytest.raises(RuleViolation):
        change_request_approve(request_id=request.pk, by=people.checker)

    assert Contract.objects.get(pk=customers.merged_contract.pk).party_id == customers.merged.pk
    assert Party.objects.get(pk=customers.merged.pk).merged_into_id is None
    assert ChangeRequest.objects.get(pk=request.pk).status == ChangeRequest.Status.PENDING


# Validation ---------------------------------------------------------------------------------


def test_merge_into_itself_is_refused():
    people = actors()
    customers = duplicate_customers()

    with pytest.raises(RuleViolation) as refused:
        merge_request(customers.merged, customers.merged, people)

    assert "cannot be merged into itself" in str(refused.value)
    assert not ChangeRequest.objects.exists()


def test_customer_into_vendor_is_refused():
    people = actors()
    customers = duplicate_customers()
    supplier = vendor("VEND-1")

    with pytest.raises(RuleViolation) as refused:
        merge_request(supplier, customers.merged, people)

    assert "customer" in str(refused.value)
    assert "same kind" in str(refused.value)


def test_already_merged_party_is_refused():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    third = party_create(code="CUST-300", kind="customer", name="Northwind", country="DE")
    merge_approved(customers.survivor, customers.merged, people)

    with pytest.raises(RuleViolation) as as_merged:
        merge_request(third, customers.merged, people)
    with pytest.raises(RuleViolation) as as_survivor:
        merge_request(customers.merged, third, people)

    assert "CUST-200 (merged) was already merged into CUST-100" in str(as_merged.value)
    assert "CUST-200 (survivor) was already merged into CUST-100" in str(as_survivor.value)


def test_other_country_needs_across_countries():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    austrian = party_create(code="CUST-AT", kind="customer", name="Northwind", country="AT")

    with pytest.raises(RuleViolation) as refused:
        merge_request(customers.survivor, austrian, people)
    request = merge_request(customers.survivor, austrian, people, across_countries=True)

    assert "is in AT and CUST-100 is in DE" in str(refused.value)
    assert "--across-countries" in str(refused.value)
    assert request.changes == {"merge_into": customers.survivor.pk, "across_countries": True}


def test_second_open_merge_request_is_refused():
    people = actors()
    customers = duplicate_customers()
    first = merge_request(customers.survivor, customers.merged, people)

    with pytest.raises(RuleViolation) as refused:
        merge_request(customers.survivor, customers.merged, people)

    assert f"open merge request, {first.pk}" in str(refused.value)


def test_unknown_change_and_survivor_are_refused():
    from billguard.controls.requests import change_request_create

    people = actors()
    customers = duplicate_customers()

    with pytest.raises(InvalidInput) as unknown_key:
        change_request_create(
            by=people.maker,
            target="party_merge",
            target_id=customers.merged.pk,
            changes={"merge_into": customers.survivor.pk, "name": "Northwind"},
            reason="duplicate",
        )
    with pytest.raises(NotFound) as unknown_party:
        change_request_create(
            by=people.maker,
            target="party_merge",
            target_id=customers.merged.pk,
            changes={"merge_into": 999999},
            reason="duplicate",
        )
    with pytest.raises(InvalidInput) as not_an_id:
        change_request_create(
            by=people.maker,
            target="party_merge",
            target_id=customers.merged.pk,
            changes={"merge_into": "CUST-100"},
            reason="duplicate",
        )

    assert unknown_key.value.place == "changes.name"
    assert "999999" in str(unknown_party.value)
    assert not_an_id.value.place == "changes.merge_into"


def test_merge_stale_after_other_merge():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    third = party_create(code="CUST-300", kind="customer", name="Northwind", country="DE")
    first = merge_request(customers.survivor, customers.merged, people)
    second = merge_request(third, customers.survivor, people)
    change_request_approve(request_id=second.pk, by=people.checker)

    stale = change_request_approve(request_id=first.pk, by=people.checker)

    assert stale.status == ChangeRequest.Status.STALE
    assert Party.objects.get(pk=customers.merged.pk).merged_into_id is None


def actors_with(requester):  # type: ignore[no-untyped-def]
    """Actors whose maker is ``requester``, with a finance approver as the checker."""
    from tests.registry.merge_setup import Actors

    return Actors(maker=requester, checker=make_user("blake.approver", "finance_approver"))
