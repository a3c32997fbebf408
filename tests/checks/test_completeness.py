import dataclasses
import datetime as dt

import pytest

from billguard.checks.context import CheckContext, Draft
from billguard.checks.engine import run_checks
from billguard.registry.models import ContractVersion
from billguard.registry.services.documents import document_store
from tests.factories import checked_draft, make_contract

pytestmark = pytest.mark.django_db

FAMILY = {
    "CONTRACT_NOT_FOUND",
    "CONTRACT_NOT_ACTIVE",
    "CONTRACT_FIELD_MISSING",
    "SOW_MISSING",
    "SOW_SUPERSEDED",
}


def codes(draft: Draft, context: CheckContext) -> list[str]:
    return [f.code for f in run_checks(draft, context, only=FAMILY)]


def test_clean_contract_has_no_completeness_finding():
    setup = make_contract()
    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []


def test_contract_not_found_for_unknown_contract():
    setup = make_contract()
    draft, _ = checked_draft(setup.contract, "2026-11")
    draft = dataclasses.replace(draft, contract_number="C-404")

    findings = run_checks(draft, CheckContext(as_of=dt.date(2026, 11, 1)), only=FAMILY)

    assert [f.code for f in findings] == ["CONTRACT_NOT_FOUND"]
    assert findings[0].actual == "C-404"
    assert findings[0].amount_at_stake is not None
    assert findings[0].amount_at_stake.amount == draft.document.totals.payable


def test_contract_not_active_before_effective_date():
    setup = make_contract(
        effective_from=dt.date(2026, 12, 1), schedule_starts_on=dt.date(2026, 11, 1)
    )

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == ["CONTRACT_NOT_ACTIVE"]


def test_contract_field_missing_names_each_field():
    setup = make_contract(escalation_contact="", payment_terms_days=None)

    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only={"CONTRACT_FIELD_MISSING"})

    assert sorted(f.subject for f in findings) == [
        "contract field escalation_contact",
        "contract field payment_terms_days",
    ]


def test_sow_missing_when_version_has_none():
    setup = make_contract(sow_document_id=None)

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == ["SOW_MISSING"]


def test_sow_missing_when_document_unsigned():
    setup = make_contract()
    version = ContractVersion.objects.get(contract=setup.contract)
    version.sow_document.signed_on = None
    version.sow_document.save()

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == ["SOW_MISSING"]


def test_sow_superseded_by_newer_signed_revision():
    setup = make_contract()
    document_store(
        content=b"Statement of work, revision 2 with new rates.",
        kind="sow",
        family="SOW-C-1",
        title="SOW C-1",
        signed_on=dt.date(2026, 6, 1),
        signer="Jane Buyer",
    )

    draft, context = checked_draft(setup.contract, "2026-11")
    findings = run_checks(draft, context, only=FAMILY)

    assert [f.code for f in findings] == ["SOW_SUPERSEDED"]
    assert findings[0].expected.startswith("revision 2")
    assert findings[0].evidence["superseding_document"] == "SOW-C-1 rev 2"


def test_sow_not_superseded_by_unsigned_draft_revision():
    setup = make_contract()
    document_store(
        content=b"Statement of work, draft revision 2 under negotiation.",
        kind="sow",
        family="SOW-C-1",
        title="SOW C-1",
    )

    draft, context = checked_draft(setup.contract, "2026-11")

    assert codes(draft, context) == []
