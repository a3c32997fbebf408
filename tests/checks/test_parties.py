import dataclasses
import datetime as dt

import pytest
from django.utils import timezone

from billguard.checks.context import CheckContext, Draft
from billguard.checks.engine import run_checks
from billguard.checks.finding import Severity
from billguard.domain.invoice import Address, PartyInfo
from billguard.registry.models import BillingSchedule
from billguard.registry.services.parties import bill_to_archive, bill_to_create, party_create
from tests.factories import D, checked_draft, make_contract, make_customer

pytestmark = pytest.mark.django_db

FAMILY = {
    "BILL_TO_MISSING",
    "BILL_TO_MISMATCH",
    "BILL_TO_INACTIVE",
    "TAX_ID_INVALID",
    "TAX_ID_MISSING",
    "PARTY_DUPLICATE_SUSPECTED",
}

REVERSE_CHARGE = {
    "tax_category": "AE",
    "tax_rate": D("0"),
    "exemption_reason": "Reverse charge, Article 196 of Directive 2006/112/EC",
}


def codes(draft: Draft, context: CheckContext) -> list[str]:
    return [f.code for f in run_checks(draft, context, only=FAMILY)]


def as_external(draft: Draft, context: CheckContext, buyer: PartyInfo) -> Draft:
    """Return the draft as if another system had sent it with ``buyer``, so that the context
    has no bill-to entity for it."""
    context.bill_to = None
    document = dataclasses.replace(draft.document, buyer=buyer)
    return dataclasses.replace(draft, document=document, origin="ubl")


def test_clean_contract_has_no_parties_finding(django_assert_num_queries):
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")

    with django_assert_num_queries(0):
        found = codes(draft, context)

    assert found == []


def test_clean_reverse_charge_contract_has_no_parties_finding():
    setup = make_contract(**REVERSE_CHARGE)
    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_bill_to_missing_when_contract_names_none():
    setup = make_contract(bill_to_id=None)

    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["BILL_TO_MISSING", "BILL_TO_MISSING"]
    assert [f.subject for f in findings] == ["bill-to", "contract bill-to"]
    assert findings[1].message == "contract C-1 version 1 names no bill-to entity"
    assert findings[1].amount_at_stake is not None
    assert findings[1].amount_at_stake.amount == draft.document.totals.payable
    assert findings[1].evidence["contract"] == "C-1"


def test_bill_to_missing_when_schedule_names_none():
    setup = make_contract()
    BillingSchedule.objects.filter(contract=setup.contract).update(bill_to=None)

    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["BILL_TO_MISSING"]
    assert findings[0].subject == "bill-to"
    assert findings[0].expected == "a bill-to entity"


def test_bill_to_missing_for_unnamed_buyer():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    external = as_external(draft, context, PartyInfo())

    findings = run_checks(external, context, only=FAMILY)

    assert [f.code for f in findings] == ["BILL_TO_MISSING"]
    assert findings[0].subject == "buyer"
    assert "BT-44" in findings[0].message


def test_bill_to_present_on_external_draft():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    external = as_external(draft, context, draft.document.buyer)

    assert codes(external, context) == []


def test_bill_to_mismatch_when_schedule_bills_other_entity():
    setup = make_contract()
    other = bill_to_create(
        party=setup.party,
        code="CUST-1-HH",
        name="Northwind Traders GmbH Hamburg",
        country="DE",
        tax_id="DE123456788",
        city="Hamburg",
        postcode="20095",
    )
    BillingSchedule.objects.filter(contract=setup.contract).update(bill_to=other)

    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["BILL_TO_MISMATCH"]
    assert findings[0].expected == "CUST-1-BT Northwind Traders GmbH"
    assert findings[0].actual == "CUST-1-HH Northwind Traders GmbH Hamburg"
    assert findings[0].evidence["draft_bill_to"] == "CUST-1-HH"
    assert findings[0].evidence["contract_bill_to"] == "CUST-1-BT"


def test_bill_to_mismatch_for_other_buyer():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    contoso = PartyInfo(name="Contoso AG", address=Address(country="DE"))
    external = as_external(draft, context, contoso)

    findings = run_checks(external, context, only=FAMILY)

    assert [f.code for f in findings] == ["BILL_TO_MISMATCH"]
    assert findings[0].actual == "Contoso AG (tax ID none)"
    assert findings[0].expected == "CUST-1-BT Northwind Traders GmbH"


def test_bill_to_mismatch_for_other_tax_id():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    buyer = dataclasses.replace(draft.document.buyer, tax_id="DE136695976")
    external = as_external(draft, context, buyer)

    assert codes(external, context) == ["BILL_TO_MISMATCH"]


def test_bill_to_matches_buyer_written_differently():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    buyer = PartyInfo(name="NORTHWIND TRADERS", tax_id="123 456 788", address=Address(country="DE"))
    external = as_external(draft, context, buyer)

    assert codes(external, context) == []


def test_bill_to_matches_buyer_by_name():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    buyer = PartyInfo(name="Northwind Traders, Ltd.", address=Address(country="DE"))
    external = as_external(draft, context, buyer)

    assert codes(external, context) == []


def test_bill_to_inactive_when_archived():
    setup = make_contract()
    bill_to_archive(bill_to=setup.bill_to)

    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["BILL_TO_INACTIVE"]
    assert findings[0].actual.startswith("archived on ")
    assert findings[0].evidence["bill_to"] == "CUST-1-BT"


def test_bill_to_inactive_when_party_merged(django_assert_num_queries):
    setup = make_contract()
    survivor = party_create(code="CUST-9", kind="customer", name="Northwind Holding", country="DE")
    setup.party.merged_into = survivor
    setup.party.save()

    draft, context = checked_draft(setup.contract, "2026-11")
    with django_assert_num_queries(0):
        findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["BILL_TO_INACTIVE"]
    assert findings[0].message == (
        "the party CUST-1 Northwind Traders GmbH of bill-to entity CUST-1-BT Northwind "
        "Traders GmbH was merged into CUST-9 Northwind Holding"
    )
    assert findings[0].evidence["merged_into"] == "CUST-9"


def test_bill_to_inactive_when_party_archived():
    setup = make_contract()
    setup.party.archived_at = timezone.now()
    setup.party.save()

    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["BILL_TO_INACTIVE"]
    assert findings[0].actual.startswith("party archived on ")


def test_bill_to_inactive_on_external_draft():
    setup = make_contract()
    bill_to_archive(bill_to=setup.bill_to)
    draft, context = checked_draft(setup.contract, "2026-11")
    external = as_external(draft, context, draft.document.buyer)

    assert codes(external, context) == ["BILL_TO_INACTIVE"]


def test_tax_id_invalid_for_wrong_check_digit():
    make_customer("CUST-1", tax_id="DE123456789")
    setup = make_contract()

    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["TAX_ID_INVALID"]
    assert findings[0].actual == "DE123456789"
    assert "checksum" in findings[0].message
    assert findings[0].evidence["stored_verdict"] == "invalid"
    assert findings[0].evidence["country"] == "DE"


def test_tax_id_valid_without_country_prefix():
    make_customer("CUST-1", tax_id="123456788")
    setup = make_contract()

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_tax_id_valid_by_prefix_country():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    draft.document.buyer.address.country = "AT"

    assert codes(draft, context) == []


def test_tax_id_invalid_when_buyer_has_no_country():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")
    buyer = PartyInfo(name="Northwind Traders GmbH", tax_id="123456788")
    external = as_external(draft, context, buyer)

    findings = run_checks(external, context, only={"TAX_ID_INVALID"})

    assert len(findings) == 1
    assert "no country (BT-55)" in findings[0].message


def test_tax_id_missing_for_reverse_charge():
    make_customer("CUST-1", tax_id="")
    setup = make_contract(**REVERSE_CHARGE)

    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["TAX_ID_MISSING"]
    assert findings[0].message == (
        "the draft applies category AE (reverse charge) on line 1, which needs the buyer's "
        "VAT identifier (BT-48), but the buyer Northwind Traders GmbH has none"
    )


def test_tax_id_missing_for_intra_community_supply():
    make_customer("CUST-1", tax_id="")
    setup = make_contract(
        tax_category="K", tax_rate=D("0"), exemption_reason="Intra-community supply"
    )

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == ["TAX_ID_MISSING"]


def test_tax_id_missing_names_registry_tax_id():
    setup = make_contract(**REVERSE_CHARGE)
    draft, context = checked_draft(setup.contract, "2026-11")
    draft.document.buyer.tax_id = ""

    findings = run_checks(draft, context, only={"TAX_ID_MISSING"})

    assert len(findings) == 1
    assert findings[0].evidence["bill_to_tax_id"] == "DE123456788"
    assert findings[0].message.endswith("although bill-to entity CUST-1-BT has DE123456788")


def test_tax_id_not_needed_for_standard_rate():
    make_customer("CUST-1", tax_id="")
    setup = make_contract()

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_party_duplicate_suspected_for_twin_customer():
    setup = make_contract()
    make_contract("C-2", customer_code="CUST-2")

    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["PARTY_DUPLICATE_SUSPECTED"]
    assert findings[0].severity is Severity.WARN
    assert findings[0].actual == "CUST-1 and CUST-2"
    assert "CUST-1 Northwind Traders GmbH" in findings[0].message
    assert "CUST-2 Northwind Traders GmbH" in findings[0].message
    assert findings[0].evidence["reason"] == "same tax ID (DE123456788)"


def test_party_duplicate_ignores_customer_without_contracts():
    setup = make_contract()
    make_customer("CUST-2")

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_party_duplicate_ignores_merged_customer():
    setup = make_contract()
    twin = make_contract("C-2", customer_code="CUST-2")
    twin.party.merged_into = setup.party
    twin.party.save()

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_parties_family_needs_contract():
    setup = make_contract(bill_to_id=None)
    draft, _ = checked_draft(setup.contract, "2026-11")

    findings = run_checks(draft, CheckContext(as_of=dt.date(2026, 11, 1)), only=FAMILY)

    assert findings == []
