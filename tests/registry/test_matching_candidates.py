"""Stored duplicate candidates: the scan, the dismissal, and the check through a billing run."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billguard.billing.run import billing_run_execute
from billguard.checks.models import StoredFinding
from billguard.controls.models import AuditEntry
from billguard.domain.errors import InvalidInput, NotFound, RuleViolation
from billguard.domain.periods import parse_period
from billguard.registry.models import DuplicateCandidate, Party
from billguard.registry.services.duplicates import duplicate_candidate_dismiss, duplicates_scan
from billguard.registry.services.parties import party_create
from tests.acting_users import make_user
from tests.factories import make_contract, make_customer

pytestmark = pytest.mark.django_db(transaction=True)


def twin_customers() -> tuple[Party, Party]:
    """The same company entered twice, the second time with its legal form written out and
    its VAT ID without the country prefix."""
    first, _ = make_customer("CUST-1", name="Northwind Traders GmbH", tax_id="DE136695976")
    second, _ = make_customer("CUST-2", name="NORTHWIND TRADERS G.m.b.H.", tax_id="136 695 976")
    return first, second


def other_customer(code: str = "CUST-3") -> Party:
    return make_customer(code, name="Trey Research AG", tax_id="DE129273398", postcode="10117")[0]


def test_scan_stores_likely_duplicates_as_open_candidates():
    first, second = twin_customers()
    other_customer()

    result = duplicates_scan(kind="customer", by=make_user("fran", "finance"))

    candidate = DuplicateCandidate.objects.get()
    assert (candidate.party, candidate.other_party) == (first, second)
    assert candidate.status == DuplicateCandidate.Status.OPEN
    assert candidate.match_probability == Decimal("1.000000")
    assert candidate.reason == "same tax ID (DE136695976)"
    assert (result.parties, result.found, result.created) == (3, 1, 1)


def test_scan_audits_each_new_candidate():
    twin_customers()

    duplicates_scan(kind="customer", by=make_user("fran", "finance"))

    entry = AuditEntry.objects.get(action="duplicate_candidate.create")
    assert entry.actor == "fran"
    assert entry.after["status"] == "open"
    assert entry.record_id == str(DuplicateCandidate.objects.get().pk)


def test_scan_again_refreshes_without_duplicating():
    twin_customers()
    duplicates_scan(kind="customer")

    result = duplicates_scan(kind="customer")

    assert DuplicateCandidate.objects.count() == 1
    assert (result.created, result.refreshed, result.removed) == (0, 1, 0)


def test_scan_removes_open_candidate_no_longer_found():
    _, second = twin_customers()
    duplicates_scan(kind="customer")
    Party.objects.filter(pk=second.pk).update(name="Trey Research AG", tax_id="DE129273398")
    second.bill_tos.update(
        name="Trey Research AG", tax_id="DE129273398", street="Unter den Linden 1"
    )

    result = duplicates_scan(kind="customer")

    assert result.removed == 1
    assert not DuplicateCandidate.objects.exists()
    assert AuditEntry.objects.filter(action="duplicate_candidate.remove").count() == 1


def test_scan_keeps_dismissed_candidate_dismissed():
    twin_customers()
    duplicates_scan(kind="customer")
    candidate = DuplicateCandidate.objects.get()
    duplicate_candidate_dismiss(candidate_id=candidate.pk, reason="Group companies")

    result = duplicates_scan(kind="customer")

    assert DuplicateCandidate.objects.get().status == DuplicateCandidate.Status.DISMISSED
    assert (result.still_dismissed, result.created) == (1, 0)


def test_scan_compares_within_each_kind():
    make_customer("CUST-1", name="Northwind Traders GmbH", tax_id="DE136695976")
    party_create(
        code="VEND-1",
        kind="vendor",
        name="Northwind Traders GmbH",
        country="DE",
        tax_id="DE136695976",
        postcode="80331",
    )
    party_create(
        code="VEND-2",
        kind="vendor",
        name="Northwind Traders",
        country="DE",
        tax_id="DE136695976",
        postcode="80331",
    )

    result = duplicates_scan()

    pairs = {(c.party.code, c.other_party.code) for c in DuplicateCandidate.objects.all()}
    assert pairs == {("VEND-1", "VEND-2")}
    assert result.kinds == ("customer", "vendor")


@pytest.mark.parametrize("threshold", [0.0, -0.5, 1.5])
def test_scan_refuses_threshold_outside_probabilities(threshold):
    twin_customers()

    with pytest.raises(InvalidInput) as error:
        duplicates_scan(threshold=threshold)

    assert error.value.place == "--threshold"
    assert not DuplicateCandidate.objects.exists()


def test_scan_refuses_unknown_kind():
    with pytest.raises(InvalidInput) as error:
        duplicates_scan(kind="supplier")

    assert error.value.place == "--kind"


def test_dismiss_records_who_and_why():
    twin_customers()
    duplicates_scan(kind="customer")
    candidate = DuplicateCandidate.objects.get()

    duplicate_candidate_dismiss(
        candidate_id=candidate.pk, reason="Two entities", by=make_user("pia", "procurement")
    )

    candidate.refresh_from_db()
    assert candidate.status == DuplicateCandidate.Status.DISMISSED
    assert candidate.decided_by == "pia"
    assert candidate.decided_at is not None
    entry = AuditEntry.objects.get(action="duplicate_candidate.dismiss")
    assert (entry.reason, entry.after) == ("Two entities", {"status": "dismissed"})


def test_dismiss_needs_a_reason():
    twin_customers()
    duplicates_scan(kind="customer")
    candidate = DuplicateCandidate.objects.get()

    with pytest.raises(InvalidInput):
        duplicate_candidate_dismiss(candidate_id=candidate.pk, reason="  ")

    assert DuplicateCandidate.objects.get().status == DuplicateCandidate.Status.OPEN


def test_dismiss_unknown_candidate_is_not_found():
    with pytest.raises(NotFound):
        duplicate_candidate_dismiss(candidate_id=999, reason="Two entities")


def test_dismiss_twice_is_refused():
    twin_customers()
    duplicates_scan(kind="customer")
    candidate = DuplicateCandidate.objects.get()
    duplicate_candidate_dismiss(candidate_id=candidate.pk, reason="Two entities")

    with pytest.raises(RuleViolation):
        duplicate_candidate_dismiss(candidate_id=candidate.pk, reason="Again")


def test_billing_run_warns_of_reformatted_duplicate_customer():
    twin_customers()
    other_customer()
    make_contract("C-1", customer_code="CUST-1")
    make_contract("C-2", customer_code="CUST-2")
    make_contract("C-3", customer_code="CUST-3")

    billing_run_execute(period=parse_period("2026-11"))

    found = StoredFinding.objects.filter(code="PARTY_DUPLICATE_SUSPECTED")
    assert sorted(f.invoice.contract.number for f in found) == ["C-1", "C-2"]
    assert all("same tax ID (DE136695976)" in f.message for f in found)


def test_billing_run_does_not_report_dismissed_pair():
    twin_customers()
    make_contract("C-1", customer_code="CUST-1")
    make_contract("C-2", customer_code="CUST-2")
    duplicates_scan(kind="customer")
    candidate = DuplicateCandidate.objects.get()
    duplicate_candidate_dismiss(candidate_id=candidate.pk, reason="Two entities")

    billing_run_execute(period=parse_period("2026-11"))

    assert not StoredFinding.objects.filter(code="PARTY_DUPLICATE_SUSPECTED").exists()
