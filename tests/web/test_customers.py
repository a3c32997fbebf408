"""The customer list and the customer page: registry facts, ageing and payment statuses."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billguard.billing.credit import credit_note_issue
from billguard.receivables.balances import balances_of, customer_filter, issued_invoices
from billguard.receivables.customer_figures import (
    balances_due,
    balances_of_annotated,
    customer_ageing,
    with_open_amount,
)
from billguard.registry.models import DuplicateCandidate, Party
from tests.factories import make_customer
from tests.receivables.conftest import Receivables, receivables  # noqa: F401

pytestmark = pytest.mark.django_db

D = Decimal


def paid_september_and_part_of_october(receivables: Receivables) -> None:  # noqa: F811
    """September paid in full on 2026-10-05, 500.00 of October on 2026-10-20."""
    receivables.pay("1190.00", dt.date(2026, 10, 5), "ADE-000001")
    receivables.pay("500.00", dt.date(2026, 10, 20), "ADE-000002")


def test_customer_page_ageing_buckets_by_hand(signed_in, receivables: Receivables) -> None:  # noqa: F811
    paid_september_and_part_of_october(receivables)

    # As of 2026-11-15: September is paid; October (due 2026-10-31) is 15 days past due with
    # 1190.00 - 500.00 = 690.00 open; November (due 2026-12-01) is not due, 1190.00 open.
    response = signed_in("fran.finance").get("/customers/CUST-1/?as_of=2026-11-15")

    assert response.status_code == 200
    ageing = response.context["ageing"]
    assert len(ageing) == 1
    assert ageing[0]["row"].currency == "EUR"
    assert ageing[0]["amounts"] == [D("1190.00"), D("690.00"), D(0), D(0), D(0)]
    assert ageing[0]["row"].total == D("1880.00")
    body = response.content.decode()
    assert "1,880.00" in body
    assert "1-30 days" in body


def test_customer_page_ageing_over_ninety_days(signed_in, receivables: Receivables) -> None:  # noqa: F811
    # Nothing paid. As of 2027-01-05: September (due 2026-10-01) is 96 days past due, October
    # (due 2026-10-31) 66 days and November (due 2026-12-01) 35 days.
    response = signed_in("fran.finance").get("/customers/CUST-1/?as_of=2027-01-05")

    amounts = response.context["ageing"][0]["amounts"]
    assert amounts == [D(0), D(0), D("1190.00"), D("1190.00"), D("1190.00")]


def test_customer_page_payment_statuses(signed_in, receivables: Receivables) -> None:  # noqa: F811
    paid_september_and_part_of_october(receivables)
    client = signed_in("fran.finance")

    before_due = client.get("/customers/CUST-1/?as_of=2026-10-25").context["balances"]
    after_due = client.get("/customers/CUST-1/?as_of=2026-11-15").context["balances"]

    def statuses(rows: list[dict[str, object]]) -> dict[str, str]:
        return {row["balance"].invoice.number: row["balance"].status for row in rows}  # type: ignore[attr-defined]

    assert statuses(before_due) == {"ADE-000001": "paid", "ADE-000002": "partially paid"}
    assert statuses(after_due) == {
        "ADE-000001": "paid",
        "ADE-000002": "overdue",
        "ADE-000003": "open",
    }
    body = client.get("/customers/CUST-1/?as_of=2026-11-15").content.decode()
    assert '<span class="badge bad">overdue</span>' in body
    assert '<span class="badge good">paid</span>' in body


def test_customer_page_credited_invoice_not_disputable(
    signed_in,
    receivables: Receivables,  # noqa: F811
) -> None:
    credit_note_issue(
        invoice=receivables.september,
        reason="Billed twice",
        issue_date=dt.date(2026, 9, 15),
        by=receivables.finance,
    )

    response = signed_in("fran.finance").get("/customers/CUST-1/?as_of=2026-11-15")

    body = response.content.decode()
    rows = {row["balance"].invoice.number: row for row in response.context["balances"]}
    assert rows["ADE-000001"]["credited"] is True
    assert rows["ADE-000002"]["credited"] is False
    assert f"/disputes/new/?invoice={receivables.september.pk}" not in body
    assert f"/disputes/new/?invoice={receivables.october.pk}" in body
    september_row = body.split(">ADE-000001</a>")[1].split("</tr>")[0]
    assert "<td>credited</td>" in september_row


def test_customer_figures_match_the_balances(receivables: Receivables) -> None:  # noqa: F811
    paid_september_and_part_of_october(receivables)
    customer = receivables.customer
    as_of = dt.date(2026, 11, 15)

    invoices = issued_invoices().filter(customer_filter(customer.pk), issue_date__lte=as_of)
    expected = sum((b.open_amount for b in balances_of(invoices, as_of)), D(0))

    annotated = balances_of_annotated(with_open_amount(invoices, as_of).order_by("pk"), as_of)
    by_service = balances_of(invoices.order_by("pk"), as_of)
    assert [(b.open_amount, b.status) for b in annotated] == [
        (b.open_amount, b.status) for b in by_service
    ]
    assert balances_due([customer.pk], as_of) == {customer.pk: [("EUR", expected)]}
    assert expected == D("1880.00")
    assert customer_ageing(customer, as_of)[0].total == expected


def test_customer_page_lists_tax_ids_contracts_and_duplicates(
    signed_in,
    receivables: Receivables,  # noqa: F811
) -> None:
    other, _ = make_customer("CUST-2", name="Northwind Traders", tax_id="DE000000000")
    DuplicateCandidate.objects.create(
        party=receivables.customer,
        other_party=other,
        match_probability=D("0.930000"),
        reason="same postcode, similar name",
    )

    body = signed_in("sam.sales").get("/customers/CUST-1/").content.decode()

    assert "DE123456788" in body
    assert '<span class="badge good">valid</span>' in body
    assert 'href="/contracts/C-1/"' in body
    assert 'href="/customers/CUST-2/"' in body
    assert "93.0 %" in body
    other_body = signed_in("sam.sales").get("/customers/CUST-2/").content.decode()
    assert '<span class="badge bad">invalid</span>' in other_body
    assert 'href="/customers/CUST-1/"' in other_body


def test_customer_page_of_unknown_code_is_not_found(signed_in, receivables) -> None:  # noqa: F811
    assert signed_in("fran.finance").get("/customers/NOPE/").status_code == 404


def test_customer_list_filters_and_figures(signed_in, receivables: Receivables) -> None:  # noqa: F811
    make_customer("FR-1", name="Fabrikam SARL", country="FR", tax_id="")
    client = signed_in("audrey.auditor")

    everyone = client.get("/customers/")
    french = client.get("/customers/?country=fr")
    by_name = client.get("/customers/?q=northwind")

    assert [row["party"].code for row in everyone.context["customers"]] == ["CUST-1", "FR-1"]
    assert [row["party"].code for row in french.context["customers"]] == ["FR-1"]
    assert [row["party"].code for row in by_name.context["customers"]] == ["CUST-1"]
    first = everyone.context["customers"][0]
    assert first["held"] == 0
    assert first["due"][0][0] == "EUR"
    assert first["due"][0][1] > 0


def test_customer_list_rejects_a_bad_country(signed_in, receivables) -> None:  # noqa: F811
    response = signed_in("fran.finance").get("/customers/?country=D1")

    body = response.content.decode()
    assert "&#x27;D1&#x27; is not an ISO 3166-1 country code" in body
    assert 'aria-invalid="true"' in body
    assert response.context["customers"] == []


def test_customer_list_queries_do_not_grow_with_rows(
    signed_in,
    django_assert_max_num_queries,
    receivables,  # noqa: F811
) -> None:
    for number in range(30):
        make_customer(f"EXTRA-{number:02d}", name=f"Extra customer {number}")
    client = signed_in("fran.finance")
    client.get("/customers/")

    with django_assert_max_num_queries(14):
        response = client.get("/customers/")

    assert len(response.context["customers"]) == 31
    assert Party.objects.filter(kind="customer").count() == 31


def test_customer_list_answers_htmx_with_the_table_alone(signed_in, receivables) -> None:  # noqa: F811
    response = signed_in("fran.finance").get("/customers/?q=CUST", HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert "<table>" in body
    assert "<h1>" not in body


def test_customer_page_queries_do_not_grow_with_rows(
    signed_in,
    django_assert_max_num_queries,
    receivables: Receivables,  # noqa: F811
) -> None:
    paid_september_and_part_of_october(receivables)
    client = signed_in("fran.finance")
    client.get("/customers/CUST-1/")

    # One of the 17 finds the invoices of the page that credit notes cover in full.
    with django_assert_max_num_queries(17):
        response = client.get("/customers/CUST-1/?as_of=2026-12-31")

    assert len(response.context["balances"]) == 3
