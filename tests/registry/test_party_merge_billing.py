"""A party merge and billing: issued invoices stay as issued, later drafts go to the survivor,
and an invoice issued under the moved records blocks the undo."""

from __future__ import annotations

import pytest

from billguard.billing.models import Invoice
from billguard.billing.run import billing_run_execute
from billguard.checks.models import StoredFinding
from billguard.controls.models import AuditEntry
from billguard.controls.policy_yaml import policy_seed
from billguard.domain.errors import RuleViolation
from billguard.domain.periods import parse_period
from billguard.registry.models import Contract, Party, PartyMerge
from billguard.registry.party_merge import party_merge_undo
from tests.factories import make_contract
from tests.registry.merge_setup import actors, duplicate_customers, merge_approved

pytestmark = pytest.mark.django_db(transaction=True)

REASON = "Two legal entities of one group, not duplicates"
INVOICE_FIELDS = (
    "pk",
    "status",
    "number",
    "document_type",
    "contract_id",
    "bill_to_id",
    "payable",
    "parties",
    "issued_at",
)


def invoice_rows(**filters: object) -> list[tuple[object, ...]]:
    rows = Invoice.objects.filter(**filters).order_by("pk").values_list(*INVOICE_FIELDS)
    return list(rows)


def test_issued_invoices_stay_as_issued():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    billing_run_execute(period=parse_period("2026-11"))
    before = invoice_rows(contract=customers.merged_contract)
    assert [row[1] for row in before] == ["issued"]

    merge_approved(customers.survivor, customers.merged, people)

    assert invoice_rows(contract=customers.merged_contract) == before
    buyer = Invoice.objects.get(contract=customers.merged_contract).parties["buyer"]
    assert buyer["identifier"] == "CUST-200-BT"


def test_next_billing_run_drafts_for_survivor():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    merge_approved(customers.survivor, customers.merged, people)

    billing_run_execute(period=parse_period("2026-11"))

    invoice = Invoice.objects.select_related("contract", "bill_to").get(
        contract=customers.merged_contract
    )
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.contract is not None and invoice.bill_to is not None
    assert invoice.contract.party_id == customers.survivor.pk
    assert invoice.bill_to.party_id == customers.survivor.pk
    assert not StoredFinding.objects.filter(invoice=invoice, code="BILL_TO_INACTIVE").exists()


def test_open_draft_follows_its_contract():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    held_setup = make_contract("C-201", customer_code="CUST-200", sow_document_id=None)
    billing_run_execute(period=parse_period("2026-11"))
    held = Invoice.objects.get(contract=held_setup.contract)
    assert held.status == Invoice.Status.HELD

    merge = merge_approved(customers.survivor, customers.merged, people)

    held = Invoice.objects.select_related("contract", "bill_to").get(pk=held.pk)
    assert held.contract is not None and held.bill_to is not None
    assert held.contract.party_id == customers.survivor.pk
    assert held.bill_to.party_id == customers.survivor.pk
    entry = AuditEntry.objects.get(action="party_merge.create", record_id=str(merge.pk))
    assert entry.after["open_drafts"] == 1
    assert entry.after["issued_unchanged"] == 1


def test_undo_refused_after_invoice_issued_for_moved_contract():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    merge = merge_approved(customers.survivor, customers.merged, people)
    billing_run_execute(period=parse_period("2026-11"), contract_number="C-200")
    number = Invoice.objects.get(contract=customers.merged_contract).number
    assert number

    with pytest.raises(RuleViolation) as refused:
        party_merge_undo(merge_id=merge.pk, by=people.checker, reason=REASON)

    assert f"invoice {number} was issued since the merge" in str(refused.value)
    assert Party.objects.get(pk=customers.merged.pk).merged_into_id == customers.survivor.pk
    assert Contract.objects.get(pk=customers.merged_contract.pk).party_id == (customers.survivor.pk)
    assert PartyMerge.objects.get(pk=merge.pk).undone_at is None


def test_undo_allowed_after_survivor_own_invoice():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    merge = merge_approved(customers.survivor, customers.merged, people)
    billing_run_execute(period=parse_period("2026-11"), contract_number="C-100")
    assert Invoice.objects.get(contract=customers.survivor_contract).status == "issued"

    party_merge_undo(merge_id=merge.pk, by=people.checker, reason=REASON)

    assert Contract.objects.get(pk=customers.merged_contract.pk).party_id == customers.merged.pk


def test_undo_allowed_with_invoices_issued_before_merge():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    billing_run_execute(period=parse_period("2026-11"))
    merge = merge_approved(customers.survivor, customers.merged, people)

    party_merge_undo(merge_id=merge.pk, by=people.checker, reason=REASON)

    assert Party.objects.get(pk=customers.merged.pk).merged_into_id is None
