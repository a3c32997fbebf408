"""The contract list and the contract page: timeline, version diff, documents, invoices,
and the change request form."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from billguard.billing.models import Invoice
from billguard.controls.models import ChangeRequest
from billguard.registry.models import BillingScheduleLine, Contract, ContractVersion, Document
from billguard.registry.services.amendments import (
    amendment_approve,
    amendment_draft,
    amendment_sign,
)
from billguard.registry.services.documents import document_store
from billguard.registry.services.schedules import schedule_lines_for
from billguard.registry.terms import LineTerms, PriceChangeTerms
from billguard.sample.pdf import text_pdf
from billguard.web.pages.contracts.views import _contract_today
from billguard.web.templatetags.billguard_web import unit_price
from tests.factories import draft_for, make_contract

pytestmark = pytest.mark.django_db

D = Decimal

AMENDMENT_CHANGES = {
    "payment_terms_days": 45,
    "lines": {
        "L1": {"unit_price": "1200.00"},
        "L2": {
            "kind": "recurring_fixed",
            "description": "Premium support",
            "unit_price": "250.00",
            "quantity": "1",
            "gl_account": "4000",
        },
    },
}


def amend(contract: Contract) -> Document:
    """Draft, sign and approve amendment A-1 of ``contract`` from 2026-04-01."""
    amendment = amendment_draft(
        contract=contract,
        number="A-1",
        effective_from=dt.date(2026, 4, 1),
        changes=AMENDMENT_CHANGES,
        description="Price uplift and premium support",
    )
    document = document_store(
        content=text_pdf(f"Amendment A-1 of {contract.number}, signed."),
        kind="amendment",
        family=f"AMD-{contract.number}-A-1",
        title=f"Amendment A-1 {contract.number}",
        file_name="amendment-a-1.pdf",
        signed_on=dt.date(2026, 3, 10),
        signer="Jane Buyer",
    )
    amendment_sign(amendment=amendment, document=document, signed_on=dt.date(2026, 3, 10))
    amendment_approve(
        amendment=amendment, approved_by="alex.approver", approved_on=dt.date(2026, 3, 12)
    )
    return document


def issue_invoice(contract: Contract, version: ContractVersion, month: int) -> Invoice:
    return Invoice.objects.create(
        seller_entity=contract.seller_entity,
        contract=contract,
        contract_version=version,
        currency="EUR",
        status=Invoice.Status.ISSUED,
        number=f"ADE-{contract.number}-{month}",
        period_start=dt.date(2026, month, 1),
        period_end=dt.date(2026, month, 28),
        issue_date=dt.date(2026, month, 1),
        line_extension=Decimal("1000.00"),
        tax_total=Decimal("190.00"),
        payable=Decimal("1190.00"),
    )


def test_list_filters_by_number_customer_status(signed_in) -> None:
    make_contract("C-100")
    make_contract("C-200", customer_code="CUST-2")
    make_contract("D-300", draft=True)
    client = signed_in("fran.finance")

    by_number = client.get("/contracts/?number=C-").content.decode()
    by_customer = client.get("/contracts/?customer=CUST-2").content.decode()
    drafts = client.get("/contracts/?status=draft").content.decode()
    by_type = client.get("/contracts/?contract_type=usage").content.decode()

    assert ">C-100</a>" in by_number
    assert ">C-200</a>" in by_number
    assert ">D-300</a>" not in by_number
    assert ">C-200</a>" in by_customer
    assert ">C-100</a>" not in by_customer
    assert ">D-300</a>" in drafts
    assert ">C-100</a>" not in drafts
    assert "No contract matches these filters." in by_type


def test_list_queries_do_not_grow_per_row(signed_in, django_assert_max_num_queries) -> None:
    for index in range(1, 8):
        make_contract(f"C-{index}")
    client = signed_in("audrey.auditor")

    with django_assert_max_num_queries(8):
        response = client.get("/contracts/")

    assert response.content.decode().count('<th scope="row"><a href="/contracts/') == 7


def test_version_diff_of_an_amendment(signed_in) -> None:
    setup = make_contract()
    amend(setup.contract)
    client = signed_in("sam.sales")

    body = client.get("/contracts/C-1/?a=1&b=2").content.decode()

    assert 'id="version-2"' in body
    assert "From amendment A-1" in body
    assert "approved by alex.approver on 2026-03-12" in body
    assert (
        '<th scope="row">Payment terms (days)</th><td class="before"><del>30</del></td>'
        '<td class="after"><ins>45</ins></td>' in body
    )
    assert (
        '<th scope="row">Line L1: Unit price</th><td class="before"><del>1000.00</del></td>'
        '<td class="after"><ins>1200.00</ins></td>' in body
    )
    assert "Line L2 added" in body
    assert "Premium support" in body


def test_version_diff_defaults_to_the_latest_two(signed_in) -> None:
    setup = make_contract()
    amend(setup.contract)

    body = signed_in("sam.sales").get("/contracts/C-1/").content.decode()

    assert "Terms of version 1 (A) and version 2 (B)" in body


def test_version_diff_reversed_and_same(signed_in) -> None:
    setup = make_contract()
    amend(setup.contract)
    client = signed_in("sam.sales")

    reversed_body = client.get("/contracts/C-1/?a=2&b=1").content.decode()
    same_body = client.get("/contracts/C-1/?a=2&b=2").content.decode()
    unknown_body = client.get("/contracts/C-1/?a=1&b=7").content.decode()

    assert "Line L2 removed" in reversed_body
    assert "Version 2 and version 2 have the same terms." in same_body
    assert 'id="id_b_error"' in unknown_body
    assert (
        "Version B: &#x27;7&#x27; is not one of the choices. Pick one from the list."
        in unknown_body
    )


def test_documents_show_hash_and_download(signed_in) -> None:
    setup = make_contract()
    document = amend(setup.contract)
    sow = setup.contract.versions.get(version_number=1).sow_document
    client = signed_in("fran.finance")

    body = client.get("/contracts/C-1/").content.decode()
    download = client.get(f"/contracts/C-1/documents/{document.pk}/")

    assert f'id="document-{document.pk}"' in body
    assert f'id="document-{sow.pk}"' in body
    assert document.sha256 in body
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == document.sha256
    assert "amendment-a-1.pdf" in download["Content-Disposition"]


def test_document_of_another_contract_is_not_found(signed_in) -> None:
    make_contract()
    other = make_contract("C-2", customer_code="CUST-2")
    other_sow = other.contract.versions.get().sow_document

    response = signed_in("fran.finance").get(f"/contracts/C-1/documents/{other_sow.pk}/")

    assert response.status_code == 404


def test_invoices_by_version_are_counted_and_linked(signed_in) -> None:
    setup = make_contract()
    amend(setup.contract)
    first = setup.contract.versions.get(version_number=1)
    second = setup.contract.versions.get(version_number=2)
    old = [issue_invoice(setup.contract, first, month) for month in (1, 2, 3)]
    new = issue_invoice(setup.contract, second, 4)

    body = signed_in("fran.finance").get("/contracts/C-1/").content.decode()

    assert "Invoices and credit notes: 3, of which 3 issued" in body
    assert "Invoiced: EUR 3,570.00." in body
    assert "Invoices and credit notes: 1, of which 1 issued" in body
    for invoice in [*old, new]:
        assert f'<a href="/invoices/{invoice.pk}/">{invoice.number}</a>' in body
    assert "/invoices/?contract=C-1" in body


def test_contract_page_queries_are_bounded(signed_in, django_assert_max_num_queries) -> None:
    setup = make_contract()
    amend(setup.contract)
    version = setup.contract.versions.get(version_number=2)
    for month in range(4, 12):
        issue_invoice(setup.contract, version, month)
    client = signed_in("sam.sales")

    with django_assert_max_num_queries(30):
        response = client.get("/contracts/C-1/")

    assert len(re.findall(r'<a href="/invoices/\d+/">', response.content.decode())) == 5


def test_request_change_needs_price_or_discount(signed_in) -> None:
    make_contract()
    response = signed_in("sam.sales").post(
        "/contracts/C-1/request-change/",
        {"line": "L1", "unit_price": "", "discount_percent": "", "reason": "new rate"},
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_unit_price_error"' in body
    assert "Give a new unit price, a new discount, or both, for the line." in body
    assert not ChangeRequest.objects.exists()


def test_request_change_needs_reason_and_number(signed_in) -> None:
    make_contract()
    response = signed_in("sam.sales").post(
        "/contracts/C-1/request-change/",
        {"line": "L1", "unit_price": "eleven hundred", "reason": ""},
    )

    body = response.content.decode()
    assert 'id="id_unit_price_error"' in body
    assert "New unit price: &#x27;eleven hundred&#x27; is not a number." in body
    assert 'id="id_reason_error"' in body
    assert not ChangeRequest.objects.exists()


def test_request_change_same_price_is_refused(signed_in) -> None:
    make_contract()
    response = signed_in("sam.sales").post(
        "/contracts/C-1/request-change/",
        {"line": "L1", "unit_price": "1000", "reason": "no change"},
    )

    assert (
        "The contract unit price of line L1 is already 1000. Give the new unit price."
        in response.content.decode()
    )
    assert not ChangeRequest.objects.exists()


def test_request_change_service_refusal_by_field(signed_in) -> None:
    make_contract()
    response = signed_in("sam.sales").post(
        "/contracts/C-1/request-change/",
        {"line": "L1", "unit_price": "1100", "effective_from": "2025-06-01", "reason": "x"},
    )

    body = response.content.decode()
    assert 'id="id_effective_from_error"' in body
    assert "The change would take effect on 2025-06-01" in body
    assert not ChangeRequest.objects.exists()


def test_request_discount_change(signed_in) -> None:
    make_contract()
    response = signed_in("sam.sales").post(
        "/contracts/C-1/request-change/",
        {"line": "L1", "discount_percent": "12.5", "reason": "volume commitment"},
    )

    change = ChangeRequest.objects.get()
    assert response.status_code == 302
    assert change.categories == ["discount"]
    assert change.changes == {
        "discounts": [
            {"percent": "12.5", "line_code": "L1", "approval_reference": "", "expires_on": None}
        ]
    }


def test_auditor_cannot_request_change(signed_in) -> None:
    make_contract()
    client = signed_in("audrey.auditor")

    page = client.get("/contracts/C-1/").content.decode()
    response = client.post("/contracts/C-1/request-change/", {"line": "L1", "unit_price": "9"})

    assert "Request a change" not in page
    assert response.status_code == 403
    assert "may not request a change to a billing-critical field" in response.content.decode()
    assert not ChangeRequest.objects.exists()


def test_unknown_contract_is_not_found(signed_in) -> None:
    assert signed_in("fran.finance").get("/contracts/NOPE/").status_code == 404


def test_list_filter_by_htmx_returns_table(signed_in) -> None:
    make_contract("C-100")

    response = signed_in("fran.finance").get(
        "/contracts/?number=C-1", headers={"HX-Request": "true"}
    )

    body = response.content.decode()
    assert body.lstrip().startswith("<table>")
    assert "<h1>" not in body
    assert ">C-100</a>" in body


def months_from(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` after (or before) the month of ``day``."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def escalating_contract() -> tuple[Contract, dt.date]:
    """Contract C-1 with price changes around this month, billed by a schedule that follows them.

    Line L1 (999.99) had an uplift of 3 % a year ago and one of 2.5 % on the first of this
    month, and has one of 4 % due in a year. Line L2 (200.00) has an index change dated last
    month whose index value is not recorded yet. Line L3 has no scheduled change.
    """
    this_month = months_from(timezone.localdate(), 0)
    lines = [
        LineTerms(
            "L1",
            "recurring_fixed",
            "Managed service",
            unit_price=D("999.99"),
            quantity=D(1),
            gl_account="4000",
        ),
        LineTerms(
            "L2",
            "recurring_fixed",
            "Hosting",
            unit_price=D("200.00"),
            quantity=D(1),
            gl_account="4000",
        ),
        LineTerms(
            "L3",
            "recurring_fixed",
            "Support desk",
            unit_price=D("50.00"),
            quantity=D(1),
            gl_account="4000",
        ),
    ]
    changes = [
        PriceChangeTerms("L1", months_from(this_month, -12), "fixed_uplift", uplift_percent=D(3)),
        PriceChangeTerms("L1", this_month, "fixed_uplift", uplift_percent=D("2.5")),
        PriceChangeTerms("L1", months_from(this_month, 12), "fixed_uplift", uplift_percent=D(4)),
        PriceChangeTerms(
            "L2",
            months_from(this_month, -1),
            "index",
            index_name="CPI",
            index_base_value=D("100.0"),
        ),
    ]
    setup = make_contract(
        lines=lines, price_changes=changes, effective_from=months_from(this_month, -24)
    )
    schedule = setup.contract.schedule
    version = ContractVersion.objects.prefetch_related("lines", "price_changes").get(
        contract=setup.contract
    )
    schedule.lines.all().delete()
    BillingScheduleLine.objects.bulk_create(
        schedule_lines_for(schedule, version, schedule.starts_on, {}, follow_price_changes=True)
    )
    return setup.contract, this_month


def test_price_in_force_matches_billing_run(signed_in) -> None:
    contract, this_month = escalating_contract()
    plan = draft_for(contract, f"{this_month:%Y-%m}")
    billed = {line.item_id: line for line in plan.document.lines}

    body = signed_in("fran.finance").get("/contracts/C-1/").content.decode()
    row = re.search(r'<tr id="line-L1">.*?</tr>', body, re.S)

    # 999.99 x 1.03 = 1029.9897, x 1.025 = 1055.7394 (4 decimals, half up), as billed.
    assert billed["L1"].unit_price == D("1055.7394")
    assert billed["L1"].net_amount == D("1055.74")
    assert row is not None
    assert "Price in force today" in body
    assert "The billing schedule bills" not in body
    assert "EUR 999.99" in row.group(0)
    assert unit_price(billed["L1"].unit_price, "EUR") == "EUR 1,055.7394"
    assert "EUR 1,055.7394" in row.group(0)
    assert f"after uplift of 3 % on {months_from(this_month, -12)}" in row.group(0)


def test_contract_page_shows_next_change(signed_in) -> None:
    contract, this_month = escalating_contract()
    next_year = months_from(this_month, 12)

    body = signed_in("fran.finance").get(f"/contracts/{contract.number}/").content.decode()
    rows = dict(re.findall(r'<tr id="line-(L\d)">(.*?)</tr>', body, re.S))

    # 1055.7394 x 1.04 = 1097.968976, 1097.9690 at 4 decimals.
    assert f"{next_year}: uplift of 4 %, to EUR 1,097.969" in rows["L1"]
    assert "EUR 200.00" in rows["L2"]
    assert (
        "Waiting: the index change linked to CPI (base value 100, value not recorded yet)"
        in rows["L2"]
    )
    assert "none scheduled" in rows["L2"]
    assert "No scheduled price change: the contract unit price applies." in rows["L3"]


def test_schedule_behind_the_contract_is_flagged(signed_in) -> None:
    this_month = months_from(timezone.localdate(), 0)
    uplift = PriceChangeTerms("L1", this_month, "fixed_uplift", uplift_percent=D(10))
    make_contract(effective_from=months_from(this_month, -3), price_changes=[uplift])

    body = signed_in("fran.finance").get("/contracts/C-1/").content.decode()
    row = re.search(r'<tr id="line-L1">.*?</tr>', body, re.S)

    # The factory's schedule keeps the start price, 1000.00, instead of 1100.00.
    assert row is not None
    assert "EUR 1,100.00" in row.group(0)
    assert "The billing schedule bills EUR 1,000.00 on this day" in row.group(0)


def test_no_price_columns_without_changes(signed_in) -> None:
    make_contract()

    body = signed_in("sam.sales").get("/contracts/C-1/").content.decode()

    assert "Contract unit price" in body
    assert "Price in force today" not in body
    assert 'id="scheduled-changes-warning"' not in body


def test_change_form_warns_of_scheduled_changes(signed_in) -> None:
    contract, this_month = escalating_contract()

    body = signed_in("sam.sales").get(f"/contracts/{contract.number}/").content.decode()
    warning = re.search(
        r'<div class="card warn" id="scheduled-changes-warning".*?</div>', body, re.S
    )

    assert warning is not None
    assert "Scheduled price changes apply on top of a new unit price." in warning.group(0)
    assert (
        f"Line L1: uplift of 3 % on {months_from(this_month, -12)}; "
        f"uplift of 2.5 % on {this_month}; uplift of 4 % on {months_from(this_month, 12)}."
    ) in warning.group(0)
    assert (
        "Line L2: index change linked to CPI (base value 100, value not recorded yet) on "
        f"{months_from(this_month, -1)}."
    ) in warning.group(0)
    assert "Line L3" not in warning.group(0)


def test_future_version_priced_on_first_day(signed_in) -> None:
    start = months_from(timezone.localdate(), 2)
    uplift = PriceChangeTerms("L1", start, "fixed_uplift", uplift_percent=D(10))
    make_contract(effective_from=start, price_changes=[uplift])

    body = signed_in("fran.finance").get("/contracts/C-1/").content.decode()

    assert f"Price from {start}" in body
    assert "EUR 1,100.00" in body


def test_contract_today_uses_version_zone() -> None:
    # UTC+14 and UTC-11 are 25 hours apart, so their dates always differ.
    east = _contract_today(ContractVersion(timezone="Pacific/Kiritimati"))
    west = _contract_today(ContractVersion(timezone="Pacific/Pago_Pago"))

    assert east - west in (dt.timedelta(days=1), dt.timedelta(days=2))
    assert _contract_today(ContractVersion(timezone="Nowhere/Unknown")) == timezone.localdate()
