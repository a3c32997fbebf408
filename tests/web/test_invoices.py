"""The invoice list and the invoice trace, on invoices of a real billing run."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billguard.billing.credit import credit_note_issue
from billguard.billing.models import Invoice
from billguard.controls.models import ChangeRequest
from billguard.controls.override import exception_override_request
from billguard.controls.requests import change_request_approve
from billguard.receivables.disputes import dispute_open, dispute_resolve
from billguard.receivables.payments import PaymentInput, payment_record
from tests.web.exception_data import held_drafts

pytestmark = pytest.mark.django_db


def listed_numbers(body: str) -> list[str]:
    """The invoice links of a list page, as their texts, in order."""
    found = re.search(r"<tbody[^>]*>(.*?)</tbody>", body, re.S)
    rows = found.group(1) if found else ""
    return [
        part.split(">", 1)[1].split("<", 1)[0] for part in rows.split('<th scope="row"><a href')[1:]
    ]


def issued_invoice() -> Invoice:
    held_drafts()
    return Invoice.objects.get(status=Invoice.Status.ISSUED, contract__number="C-3")


def test_list_shows_issued_invoices_by_default(signed_in) -> None:
    issued = issued_invoice()

    response = signed_in("sam.sales").get("/invoices/")

    assert response.status_code == 200
    assert listed_numbers(response.content.decode()) == [issued.number]


def test_list_filters_by_number_customer_and_period(signed_in) -> None:
    issued = issued_invoice()
    client = signed_in("fran.finance")

    by_number = client.get(f"/invoices/?number={issued.number.lower()}").content.decode()
    by_other_number = client.get("/invoices/?number=ADE-999999").content.decode()
    by_customer = client.get("/invoices/?customer=fabrikam").content.decode()
    by_other_customer = client.get("/invoices/?customer=contoso").content.decode()
    by_period = client.get("/invoices/?period=2026-11").content.decode()
    by_quarter = client.get("/invoices/?period=2026-q4").content.decode()
    by_other_period = client.get("/invoices/?period=2026-10").content.decode()

    assert listed_numbers(by_number) == [issued.number]
    assert listed_numbers(by_other_number) == []
    assert listed_numbers(by_customer) == [issued.number]
    assert listed_numbers(by_other_customer) == []
    assert listed_numbers(by_period) == [issued.number]
    assert listed_numbers(by_quarter) == [issued.number]
    assert listed_numbers(by_other_period) == []
    assert "No invoice matches these filters." in by_other_period


def test_list_filters_by_contract_number(signed_in) -> None:
    issued = issued_invoice()
    client = signed_in("fran.finance")

    by_contract = client.get("/invoices/?contract=C-3").content.decode()
    by_other_contract = client.get("/invoices/?contract=C-1").content.decode()

    assert listed_numbers(by_contract) == [issued.number]
    assert listed_numbers(by_other_contract) == []


def test_list_filters_by_status_held(signed_in) -> None:
    held = held_drafts()

    body = signed_in("fran.finance").get("/invoices/?status=held").content.decode()

    assert sorted(listed_numbers(body)) == sorted(f"Draft {i.pk}" for i in held.values())
    assert f'href="/exceptions/{held["C-1"].pk}/"' in body


def test_list_invalid_period_error_at_field(signed_in) -> None:
    issued_invoice()

    body = signed_in("fran.finance").get("/invoices/?period=November").content.decode()

    assert "&#x27;November&#x27; is not a period." in body
    assert 'id="id_period_error"' in body


def test_list_filters_credit_notes(signed_in) -> None:
    issued = issued_invoice()
    note = credit_note_issue(
        invoice=issued, reason="Service outage", issue_date=dt.date(2026, 11, 20)
    )

    body = signed_in("fran.finance").get("/invoices/?document_type=credit_note").content.decode()

    assert listed_numbers(body) == [note.number]
    assert f'of <a href="/invoices/{issued.pk}/">{issued.number}</a>' in body


def test_list_htmx_request_gets_the_table_alone(signed_in) -> None:
    issued_invoice()

    body = (
        signed_in("fran.finance")
        .get("/invoices/?status=any", headers={"HX-Request": "true"})
        .content.decode()
    )

    assert "<table>" in body
    assert "<html" not in body


def test_list_query_count_does_not_grow_with_rows(signed_in, django_assert_max_num_queries) -> None:
    issued = issued_invoice()
    client = signed_in("fran.finance")
    with CaptureQueriesContext(connection) as one_row:
        client.get("/invoices/")
    for day in (20, 21, 22):
        credit_note_issue(
            invoice=issued,
            reason="Goodwill",
            issue_date=dt.date(2026, 11, day),
            quantities={"1": Decimal("0.1")},
        )

    with django_assert_max_num_queries(len(one_row.captured_queries)):
        response = client.get("/invoices/")

    assert len(listed_numbers(response.content.decode())) == 4


def test_trace_names_the_terms_and_their_document_hash(signed_in) -> None:
    issued = issued_invoice()

    body = signed_in("sam.sales").get(f"/invoices/{issued.pk}/").content.decode()

    version = issued.contract_version
    assert f'href="/contracts/C-3/#version-{version.version_number}"' in body
    assert f'href="/contracts/C-3/#document-{issued.terms_document_id}"' in body
    assert issued.terms_document.sha256 in body
    assert 'href="/invoices/?customer=FABRIKAM&amp;status=any"' in body
    assert '<span class="badge bad">blocks</span>' not in body


def test_trace_override_request_and_approver(signed_in, sample_users) -> None:
    held = held_drafts()["C-1"]
    request = exception_override_request(
        invoice_id=held.pk, by=sample_users["fran.finance"], reason="SOW signed, upload pending"
    )
    change_request_approve(request_id=request.pk, by=sample_users["alex.approver"])

    body = signed_in("fran.finance").get(f"/invoices/{held.pk}/").content.decode()

    assert ChangeRequest.objects.get(pk=request.pk).status == ChangeRequest.Status.APPLIED
    assert f'href="/approvals/{request.pk}/"' in body
    assert "alex.approver (finance_approver): approve" in body
    assert "Issued despite blocking findings: SOW signed, upload pending" in body
    assert "SOW_MISSING" in body
    assert "overridden by alex.approver" in body


def test_trace_shows_dispute_credit_note_reissue_and_payment(signed_in, sample_users) -> None:
    issued = issued_invoice()
    payment_record(
        data=PaymentInput(
            customer=issued.contract.party,
            received_on=dt.date(2026, 11, 15),
            currency="EUR",
            amount=Decimal("100.00"),
            reference=issued.number,
        ),
        by=sample_users["fran.finance"],
    )
    dispute = dispute_open(
        invoice=issued,
        opened_on=dt.date(2026, 11, 10),
        reason="wrong_price",
        amount=Decimal("100.00"),
        by=sample_users["fran.finance"],
        check_code="PRICE_MISMATCH",
    )
    resolution = dispute_resolve(
        dispute=dispute,
        reissue=True,
        note="Price agreed again with the customer",
        issue_date=dt.date(2026, 11, 20),
        by=sample_users["fran.finance"],
    )

    body = signed_in("fran.finance").get(f"/invoices/{issued.pk}/").content.decode()

    assert f'href="/disputes/{dispute.pk}/"' in body
    assert "the check PRICE_MISMATCH would have caught it" in body
    assert f'Credit note <a href="/invoices/{resolution.credit_note.pk}/">' in body
    assert resolution.reissued is not None
    assert f'Reissued as <a href="/invoices/{resolution.reissued.pk}/">' in body
    assert "EUR 100.00" in body
    reissue = signed_in("fran.finance").get(f"/invoices/{resolution.reissued.pk}/")
    assert f'Reissue of invoice <a href="/invoices/{issued.pk}/">' in reissue.content.decode()


def test_trace_links_a_held_draft_to_the_queue(signed_in) -> None:
    held = held_drafts()["C-2"]

    body = signed_in("fran.finance").get(f"/invoices/{held.pk}/").content.decode()

    assert f'href="/exceptions/{held.pk}/"' in body
    assert "PRICE_MISMATCH" in body


def test_trace_audit_link_needs_audit_read(signed_in) -> None:
    issued = issued_invoice()

    finance = signed_in("fran.finance").get(f"/invoices/{issued.pk}/").content.decode()
    sales = signed_in("sam.sales").get(f"/invoices/{issued.pk}/").content.decode()

    assert f"/audit/?record_type=billing.invoice&amp;record_id={issued.pk}" in finance
    assert "/audit/?" not in sales


def test_trace_of_an_unknown_invoice_is_not_found(signed_in) -> None:
    assert signed_in("fran.finance").get("/invoices/987654/").status_code == 404


def test_list_customer_text_too_broad_error(signed_in, monkeypatch) -> None:
    issued_invoice()
    from billguard.web.pages import customer_filter

    monkeypatch.setattr(customer_filter, "MAX_CUSTOMERS", 2)

    body = signed_in("fran.finance").get("/invoices/?customer=traders").content.decode()

    assert "&#x27;traders&#x27; matches more than 2 customers." in body
    assert 'id="id_customer_error"' in body
