"""The dispute pages: recording a dispute, resolving it by credit note and reissue, rejecting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billguard.billing.credit import credit_note_issue
from billguard.billing.models import Invoice
from billguard.domain.periods import parse_period
from billguard.receivables.disputes import dispute_open
from billguard.receivables.kpis import invoice_dispute_rate, reissue_count
from billguard.receivables.models import Dispute
from tests.receivables.conftest import Receivables, receivables  # noqa: F401

pytestmark = pytest.mark.django_db

D = Decimal

VALID = {
    "invoice_number": "ADE-000001",
    "reason": "wrong_price",
    "amount": "119.00",
    "opened_on": "2026-09-10",
    "check_code": "PRICE_MISMATCH",
    "note": "The price should be 900.00",
}


def opened(receivables: Receivables) -> Dispute:  # noqa: F811
    return dispute_open(
        invoice=receivables.september,
        opened_on=dt.date(2026, 9, 10),
        reason="wrong_bill_to",
        amount=D("1190.00"),
        note="Billed to the old entity",
        by=receivables.finance,
    )


def test_record_a_dispute(signed_in, receivables: Receivables) -> None:  # noqa: F811
    client = signed_in("sam.sales")

    response = client.post("/disputes/new/", VALID)

    dispute = Dispute.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/disputes/{dispute.pk}/"
    assert dispute.invoice == receivables.september
    assert dispute.reason == "wrong_price"
    assert dispute.amount == D("119.00")
    assert dispute.check_code == "PRICE_MISMATCH"
    assert dispute.opened_by == "sam.sales"
    page = client.get(response["Location"]).content.decode()
    assert f"Dispute {dispute.pk} recorded on invoice ADE-000001." in page
    assert "PRICE_MISMATCH" in page


def test_record_form_prefills_the_invoice(signed_in, receivables: Receivables) -> None:  # noqa: F811
    response = signed_in("fran.finance").get(f"/disputes/new/?invoice={receivables.october.pk}")

    body = response.content.decode()
    assert response.status_code == 200
    assert 'value="ADE-000002"' in body
    assert 'value="1190.00"' in body
    assert "<label" in body
    assert "Record the dispute" in body


def test_amount_over_payable_beside_field(signed_in, receivables) -> None:  # noqa: F811
    response = signed_in("fran.finance").post("/disputes/new/", {**VALID, "amount": "5000"})

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["amount"]
    assert "is not between 0 and the invoice's payable amount" in errors["amount"][0]
    body = response.content.decode()
    assert 'id="id_amount_error"' in body
    assert 'aria-describedby="id_amount_hint id_amount_error"' in body
    assert not Dispute.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("invoice_number", "ADE-999999", "'ADE-999999' was not found among issued invoices"),
        ("reason", "", "Reason is missing. Fill it in."),
        ("amount", "abc", "Disputed amount: 'abc' is not a number. Write digits with a dot"),
        ("opened_on", "2026-08-01", "is before invoice ADE-000001 of 2026-09-01"),
        ("check_code", "NOT_A_CHECK", "'NOT_A_CHECK' is not one of the choices. Pick one"),
    ],
)
def test_bad_input_beside_its_field(
    signed_in,
    receivables,  # noqa: F811
    field: str,
    value: str,
    message: str,
) -> None:
    response = signed_in("fran.finance").post("/disputes/new/", {**VALID, field: value})

    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in errors[field][0]
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not Dispute.objects.exists()


def test_second_open_dispute_is_refused(signed_in, receivables) -> None:  # noqa: F811
    opened(receivables)

    response = signed_in("fran.finance").post("/disputes/new/", VALID)

    errors = response.context["form"].errors
    assert list(errors) == ["invoice_number"]
    assert errors["invoice_number"][0].startswith("Invoice ADE-000001 already has an open dispute.")
    assert 'id="id_invoice_number_error"' in response.content.decode()
    assert Dispute.objects.count() == 1


def test_credited_invoice_rejected_beside_field(
    signed_in,
    receivables: Receivables,  # noqa: F811
) -> None:
    credit_note_issue(
        invoice=receivables.september,
        reason="Billed twice",
        issue_date=dt.date(2026, 9, 5),
        by=receivables.finance,
    )

    response = signed_in("fran.finance").post("/disputes/new/", VALID)

    errors = response.context["form"].errors
    assert list(errors) == ["invoice_number"]
    assert errors["invoice_number"][0].startswith(
        "Invoice ADE-000001 is credited in full by credit note ADE-000004, "
        "so nothing is left to dispute."
    )
    assert not Dispute.objects.exists()


def test_procurement_may_not_record_a_dispute(signed_in, receivables) -> None:  # noqa: F811
    response = signed_in("pat.procurement").post("/disputes/new/", VALID)

    assert response.status_code == 403
    assert "may not open a dispute against an issued invoice" in response.content.decode()
    assert not Dispute.objects.exists()


def test_resolve_by_credit_note_and_reissue(signed_in, receivables: Receivables) -> None:  # noqa: F811
    dispute = opened(receivables)
    client = signed_in("fran.finance")

    response = client.post(
        f"/disputes/{dispute.pk}/",
        {
            "decision": "resolve",
            "resolve-outcome": "credit_and_reissue",
            "resolve-issue_date": "2026-09-20",
            "resolve-note": "Bill-to corrected",
            "resolve-check_code": "BILL_TO_MISMATCH",
        },
    )

    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.RESOLVED
    assert dispute.resolution == Dispute.Resolution.CREDIT_AND_REISSUE
    assert dispute.check_code == "BILL_TO_MISMATCH"
    assert dispute.credit_note is not None
    assert dispute.credit_note.number == "ADE-000004"
    reissued = dispute.reissued_invoice
    assert reissued is not None
    assert reissued.number == "ADE-000005"
    assert reissued.status == Invoice.Status.ISSUED
    page = client.get(f"/disputes/{dispute.pk}/").content.decode()
    assert "credit note ADE-000004 for invoice ADE-000001. Reissued as invoice ADE-000005." in page
    assert f'href="/invoices/{dispute.credit_note.pk}/">ADE-000004</a>' in page
    assert f'href="/invoices/{reissued.pk}/">ADE-000005</a>' in page
    assert "Resolve the dispute" not in page
    september = parse_period("2026-09")
    assert reissue_count(september) == 1
    # ADE-000001 and its reissue ADE-000005 were issued in September; one was disputed.
    assert invoice_dispute_rate(september) == D("0.5000")


def test_resolve_by_credit_note_alone(signed_in, receivables) -> None:  # noqa: F811
    dispute = opened(receivables)

    signed_in("alex.approver").post(
        f"/disputes/{dispute.pk}/",
        {
            "decision": "resolve",
            "resolve-outcome": "credit_only",
            "resolve-issue_date": "2026-09-20",
            "resolve-note": "Credited in full",
        },
    )

    dispute.refresh_from_db()
    assert dispute.resolution == Dispute.Resolution.CREDIT_ONLY
    assert dispute.reissued_invoice is None
    assert dispute.decided_by == "alex.approver"


def test_resolve_without_note_beside_field(signed_in, receivables) -> None:  # noqa: F811
    dispute = opened(receivables)

    response = signed_in("fran.finance").post(
        f"/disputes/{dispute.pk}/",
        {
            "decision": "resolve",
            "resolve-outcome": "credit_and_reissue",
            "resolve-issue_date": "2026-09-20",
            "resolve-note": "",
        },
    )

    assert response.status_code == 200
    assert list(response.context["resolve_form"].errors) == ["note"]
    assert 'id="id_resolve-note_error"' in response.content.decode()
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.OPEN


def test_reject_a_dispute(signed_in, receivables) -> None:  # noqa: F811
    dispute = opened(receivables)
    client = signed_in("alex.approver")

    response = client.post(
        f"/disputes/{dispute.pk}/",
        {"decision": "reject", "reject-note": "The bill-to was right on the issue date"},
    )

    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.REJECTED
    assert dispute.credit_note is None
    page = client.get(f"/disputes/{dispute.pk}/").content.decode()
    assert "remains valid as issued" in page
    assert "Reject the dispute" not in page


def test_sales_may_not_decide_a_dispute(signed_in, receivables) -> None:  # noqa: F811
    dispute = opened(receivables)
    client = signed_in("sam.sales")

    page = client.get(f"/disputes/{dispute.pk}/").content.decode()
    response = client.post(f"/disputes/{dispute.pk}/", {"decision": "reject", "reject-note": "no"})

    assert "Reject the dispute" not in page
    assert response.status_code == 403
    assert "may not reject or resolve an invoice dispute" in response.content.decode()
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.OPEN


def test_dispute_list_filters(signed_in, receivables: Receivables) -> None:  # noqa: F811
    first = opened(receivables)
    second = dispute_open(
        invoice=receivables.october,
        opened_on=dt.date(2026, 10, 5),
        reason="tax",
        amount=D("190.00"),
        by=receivables.finance,
    )
    client = signed_in("audrey.auditor")

    def listed(query: str) -> list[int]:
        response = client.get(f"/disputes/{query}")
        return [row["dispute"].pk for row in response.context["disputes"]]

    assert listed("") == [second.pk, first.pk]
    assert listed("?reason=tax") == [second.pk]
    assert listed("?status=open&customer=cust-1") == [second.pk, first.pk]
    assert listed("?customer=OTHER") == []
    assert listed("?status=rejected") == []
    assert "Record a dispute" not in client.get("/disputes/").content.decode()
    unknown = client.get("/disputes/?customer=OTHER").content.decode()
    assert "No customer has the code &#x27;OTHER&#x27;." in unknown
    assert 'id="id_customer_error"' in unknown


def test_dispute_list_queries_do_not_grow_with_rows(
    signed_in,
    django_assert_max_num_queries,
    receivables: Receivables,  # noqa: F811
) -> None:
    opened(receivables)
    dispute_open(
        invoice=receivables.october,
        opened_on=dt.date(2026, 10, 5),
        reason="tax",
        amount=D("190.00"),
        by=receivables.finance,
    )
    client = signed_in("fran.finance")

    with django_assert_max_num_queries(8):
        response = client.get("/disputes/")

    assert len(response.context["disputes"]) == 2
