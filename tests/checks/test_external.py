"""Checks of drafts sent over HTTP: the verdict, storing on request, roles and the stored list."""

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from billguard.checks.external import (
    ExternalDraft,
    checks_authorize_read,
    drafts_check,
    external_check_get,
    external_checks_query,
    result_as_json,
)
from billguard.checks.models import ExternalDraftCheck
from billguard.controls.models import AuditEntry
from billguard.domain.errors import InvalidInput, NotAllowed, NotFound
from billguard.domain.tax import build_document_totals
from billguard.registry.models import Contract
from tests.factories import draft_for, make_contract

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 11, 1)


def external_document(number: str = "EXT-1", *, price: str | None = None):
    contract = Contract.objects.filter(number="C-1").first() or make_contract().contract
    document = draft_for(contract, "2026-11").document
    document.number = number
    document.source = "request body"
    if price is not None:
        line = document.lines[0]
        document.lines[0] = dataclasses.replace(
            line, unit_price=Decimal(price), net_amount=Decimal(price), allowances_charges=[]
        )
        document.tax_subtotals, document.totals = build_document_totals(document)
    return document


def test_check_without_store_writes_nothing(sample_users):
    document = external_document(price="900.00")

    [(result, stored)] = drafts_check(
        [ExternalDraft(document)], as_of=AS_OF, by=sample_users["sam.sales"]
    )

    body = result_as_json(result)
    assert stored is None
    assert body["blocked"] is True
    assert [f["code"] for f in body["findings"]] == ["PRICE_MISMATCH"]
    assert body["findings"][0]["amount_at_stake"] == "100.00"
    assert ExternalDraftCheck.objects.count() == 0


def test_store_records_check_and_audit(sample_users):
    document = external_document()

    [(result, stored)] = drafts_check(
        [ExternalDraft(document)], as_of=AS_OF, by=sample_users["fran.finance"], store=True
    )

    assert stored is not None
    assert stored.source == "api"
    assert stored.external_id == "EXT-1"
    assert stored.blocked is False
    assert stored.sent_by == "fran.finance"
    assert stored.user == sample_users["fran.finance"]
    assert stored.payable == document.totals.payable
    assert stored.document["number"] == "EXT-1"
    assert stored.document["document_type"] == "invoice"
    assert result.findings == []
    entry = AuditEntry.objects.get(action="external_check.record")
    assert entry.record_id == str(stored.pk)
    assert entry.actor == "fran.finance"


def test_store_needs_billing_role(sample_users):
    document = external_document()

    with pytest.raises(NotAllowed):
        drafts_check(
            [ExternalDraft(document)], as_of=AS_OF, by=sample_users["sam.sales"], store=True
        )

    assert ExternalDraftCheck.objects.count() == 0


def test_check_needs_a_role(sample_users):
    from django.contrib.auth.models import User

    nobody = User.objects.create_user("nobody")
    document = external_document()

    with pytest.raises(NotAllowed):
        drafts_check([ExternalDraft(document)], as_of=AS_OF, by=nobody)


def test_read_allowed_to_auditor_not_sales(sample_users):
    checks_authorize_read(sample_users["audrey.auditor"])
    checks_authorize_read(sample_users["fran.finance"])

    with pytest.raises(NotAllowed):
        checks_authorize_read(sample_users["sam.sales"])


def test_query_filters_by_source_blocked_and_day(sample_users):
    by = sample_users["fran.finance"]
    clean = external_document("EXT-1")
    wrong = external_document("EXT-2", price="900.00")
    drafts_check([ExternalDraft(clean), ExternalDraft(wrong)], as_of=AS_OF, by=by, store=True)
    today = timezone.now().date()

    blocked = list(external_checks_query(blocked=True))
    from_api = list(external_checks_query(source="api"))
    from_stripe = list(external_checks_query(source="stripe"))
    today_checks = list(external_checks_query(created_from=today, created_to=today))
    tomorrow_checks = list(external_checks_query(created_from=today + dt.timedelta(days=1)))

    assert [c.external_id for c in blocked] == ["EXT-2"]
    assert len(from_api) == 2
    assert from_stripe == []
    assert len(today_checks) == 2
    assert tomorrow_checks == []


def test_query_rejects_unknown_source():
    with pytest.raises(InvalidInput) as raised:
        external_checks_query(source="paypal")

    assert raised.value.place == "source"


def test_query_rejects_reversed_range():
    with pytest.raises(InvalidInput):
        external_checks_query(created_from=dt.date(2026, 11, 2), created_to=dt.date(2026, 11, 1))


def test_get_unknown_id():
    with pytest.raises(NotFound):
        external_check_get(999)
