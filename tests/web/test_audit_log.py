"""The audit log page: the audit trail filtered, its before and after, and its verification."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from billguard.controls.models import AuditEntry
from billguard.controls.services import audit_record
from billguard.registry.models import Contract
from tests.controls.conftest import triggers_bypassed
from tests.factories import make_contract

pytestmark = pytest.mark.django_db


def write(contract: Contract, *, actor: str, action: str, before: object, after: object) -> int:
    with transaction.atomic():
        entry = audit_record(
            actor=actor,
            action=action,
            record=contract,
            before=before,
            after=after,
            reason=f"{action} by {actor}",
        )
    return entry.sequence


@pytest.fixture
def trail(sample_users) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Three writes by two people on two contracts, after the entries of creating them."""
    first = make_contract("C-1", customer_code="CUST-A").contract
    second = make_contract("C-2", customer_code="CUST-B").contract
    return {
        "price": write(
            first,
            actor="fran.finance",
            action="test.price",
            before={"unit_price": "100.00", "currency": "EUR"},
            after={"unit_price": "120.00", "currency": "EUR"},
        ),
        "terms": write(
            second,
            actor="alex.approver",
            action="test.terms",
            before={"payment_terms_days": 30},
            after={"payment_terms_days": 45},
        ),
        "note": write(
            first, actor="alex.approver", action="test.note", before=None, after={"note": "ok"}
        ),
    }


def listed_sequences(response) -> list[int]:  # type: ignore[no-untyped-def]
    return [entry.sequence for entry, _ in response.context["rows"]]


def test_log_lists_newest_first(signed_in, trail):
    response = signed_in("fran.finance").get("/audit/")

    sequences = listed_sequences(response)
    assert response.status_code == 200
    assert sequences == sorted(sequences, reverse=True)
    assert sequences[0] == trail["note"]
    assert len(sequences) == AuditEntry.objects.count()


def test_log_shows_before_and_after(signed_in, trail):
    body = signed_in("fran.finance").get("/audit/").content.decode()

    assert '<td class="before"><del>100.00</del></td>' in body
    assert '<td class="after"><ins>120.00</ins></td>' in body
    assert "<td>EUR</td><td>EUR</td>" in body
    assert '<td class="after"><ins>45</ins></td>' in body
    assert '<td class="after"><ins>ok</ins></td>' in body


def test_log_shows_nested_values_as_json(signed_in, trail):
    contract = Contract.objects.get(number="C-1")
    write(
        contract,
        actor="fran.finance",
        action="test.nested",
        before={"changes": None},
        after={"changes": {"payment_terms_days": 90}},
    )

    body = signed_in("fran.finance").get("/audit/", {"action": "test.nested"}).content.decode()

    assert "<ins>{&quot;payment_terms_days&quot;: 90}</ins>" in body


def test_filter_by_person(signed_in, trail):
    response = signed_in("fran.finance").get("/audit/", {"actor": "alex.approver"})

    assert listed_sequences(response) == [trail["note"], trail["terms"]]


def test_filter_by_action(signed_in, trail):
    response = signed_in("fran.finance").get("/audit/", {"action": "test.price"})

    assert listed_sequences(response) == [trail["price"]]


def test_filter_by_record(signed_in, trail):
    contract = Contract.objects.get(number="C-2")
    entry = AuditEntry.objects.get(sequence=trail["terms"])

    response = signed_in("fran.finance").get(
        "/audit/", {"record_type": entry.record_type, "record_id": str(contract.pk)}
    )

    sequences = listed_sequences(response)
    assert trail["terms"] in sequences
    assert trail["price"] not in sequences
    assert trail["note"] not in sequences
    assert set(
        AuditEntry.objects.filter(sequence__in=sequences).values_list("record_id", flat=True)
    ) == {entry.record_id}


def test_filter_by_date_range(signed_in, trail):
    client = signed_in("fran.finance")
    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)

    today_only = client.get("/audit/", {"date_from": today, "date_until": today})
    before_today = client.get("/audit/", {"date_until": yesterday})

    assert len(listed_sequences(today_only)) == AuditEntry.objects.count()
    assert listed_sequences(today_only) == sorted(listed_sequences(today_only), reverse=True)
    assert listed_sequences(before_today) == []
    assert "No entry matches these filters." in before_today.content.decode()


def test_reversed_date_range_shown_next_to_field(signed_in, trail):
    response = signed_in("fran.finance").get(
        "/audit/", {"date_from": "2026-11-30", "date_until": "2026-11-01"}
    )

    body = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_date_until_error"' in body
    assert "The date 2026-11-01 is before the start date 2026-11-30." in body


def test_log_pages_without_query_per_row(signed_in, trail, django_assert_max_num_queries):
    contract = Contract.objects.get(number="C-1")
    for number in range(60):
        write(contract, actor="fran.finance", action="test.bulk", before={"n": number}, after={})
    client = signed_in("fran.finance")

    with django_assert_max_num_queries(6):
        first = client.get("/audit/")
    second = client.get("/audit/", {"page": "2"})

    assert len(listed_sequences(first)) == 50
    assert listed_sequences(second)[0] == listed_sequences(first)[-1] - 1
    assert 'rel="next"' in first.content.decode()


def test_verify_reports_intact_chain(signed_in, trail):
    response = signed_in("fran.finance").post("/audit/verify/", follow=True)

    body = response.content.decode()
    count = AuditEntry.objects.count()
    assert response.redirect_chain == [("/audit/", 302)]
    assert f"The audit trail is intact: {count:,} entries checked in " in body
    assert f"up to entry {count:,}." in body


def test_verify_reports_tampered_entry(signed_in, trail):
    tampered = trail["terms"]
    with triggers_bypassed():
        AuditEntry.objects.filter(sequence=tampered).update(reason="nothing happened")

    response = signed_in("fran.finance").post("/audit/verify/", follow=True)

    body = response.content.decode()
    assert response.redirect_chain == [(f"/audit/?sequence_until={tampered}", 302)]
    assert "The audit trail was tampered with (hmac_mismatch)" in body
    assert f"The first entry in doubt is {tampered}." in body
    assert f"{tampered - 1} entries checked in " in body
    assert listed_sequences(response)[0] == tampered


def test_verify_needs_post(signed_in):
    assert signed_in("fran.finance").get("/audit/verify/").status_code == 405


@pytest.mark.parametrize("username", ["sam.sales", "pat.procurement"])
def test_audit_refused_without_audit_read(signed_in, username):
    client = signed_in(username)

    page = client.get("/audit/")
    verify = client.post("/audit/verify/")

    assert page.status_code == 403
    assert "may not read the audit trail and verify it" in page.content.decode()
    assert verify.status_code == 403


@pytest.mark.parametrize("username", ["audrey.auditor", "alex.approver", "fran.finance"])
def test_menu_shows_audit_log_to_readers(signed_in, username):
    body = signed_in(username).get("/audit/").content.decode()

    assert '<a href="/audit/" aria-current="page">Audit log</a>' in body


def test_menu_hides_audit_log_from_sales(signed_in):
    body = signed_in("sam.sales").get("/billing-runs/").content.decode()

    assert 'href="/audit/"' not in body
    assert 'href="/billing-runs/" aria-current="page"' in body
