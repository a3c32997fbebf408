"""Importing a Salesforce Data Export: creation, second runs, dry runs, bad rows, requests."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billguard.controls.models import AuditEntry, ChangeRequest
from billguard.imports.models import ExternalReference, ImportRun
from billguard.imports.records import ImportInvalid
from billguard.imports.services import import_salesforce
from billguard.registry.models import (
    BillToEntity,
    Contract,
    ContractVersion,
    Party,
    PriceList,
    PriceListItem,
)
from tests.acting_users import make_user
from tests.factories import make_seller
from tests.imports.exports import salesforce_rows, salesforce_zip

pytestmark = pytest.mark.django_db


@pytest.fixture
def fran():
    make_seller()
    return make_user("fran", "finance")


def run(tables, by, **options):
    return import_salesforce(content=salesforce_zip(tables), name="export.zip", by=by, **options)


def test_import_creates_customers_prices_contract(fran):
    result = run(salesforce_rows(), fran)

    globex = Party.objects.get(code="SF-001A000001")
    assert globex.name == "Globex Corporation"
    bill_to = BillToEntity.objects.get(party=globex)
    assert (bill_to.city, bill_to.subdivision, bill_to.country) == ("Springfield", "OR", "US")
    assert bill_to.contact_name == "Hank Scorpio"
    assert bill_to.contact_email == "ap@globex.example"
    assert Party.objects.filter(code="SF-001A000002").exists()

    price_list = PriceList.objects.get(code="SF-01sA000001-USD")
    assert price_list.currency == "USD"
    prices = dict(price_list.items.values_list("product_code", "unit_price"))
    assert prices == {"PLAT": Decimal("1000"), "SUPP": Decimal("250")}

    contract = Contract.objects.get(number="SF-00000100")
    assert contract.status == Contract.Status.ACTIVE
    version = contract.versions.get()
    assert version.currency == "USD"
    assert version.bill_to_id == bill_to.pk
    assert version.price_list_id == price_list.pk
    assert str(version.effective_from) == "2026-01-01"
    assert str(version.end_date) == "2026-12-31"
    lines = {line.line_code: line for line in version.lines.all()}
    assert set(lines) == {"PLAT", "SUPP"}
    assert lines["PLAT"].quantity == Decimal("10")
    assert lines["PLAT"].unit_price == Decimal("950")

    assert result.created == 6  # two customers, one price list, two items, one contract
    assert result.change_requests == 0
    assert ImportRun.objects.filter(dry_run=False).count() == 1


def test_second_run_changes_nothing(fran):
    run(salesforce_rows(), fran)
    counts = (Party.objects.count(), ContractVersion.objects.count(), PriceListItem.objects.count())
    audit_before = AuditEntry.objects.filter(action__in=["party.update", "bill_to.update"]).count()

    second = run(salesforce_rows(), fran)

    assert (second.created, second.updated, second.change_requests) == (0, 0, 0)
    assert second.unchanged == 6
    assert counts == (
        Party.objects.count(),
        ContractVersion.objects.count(),
        PriceListItem.objects.count(),
    )
    assert ChangeRequest.objects.count() == 0
    assert (
        AuditEntry.objects.filter(action__in=["party.update", "bill_to.update"]).count()
        == audit_before
    )


def test_dry_run_writes_nothing_but_reports(fran):
    result = run(salesforce_rows(), fran, dry_run=True)

    assert result.dry_run
    assert result.created == 6
    assert Party.objects.filter(code__startswith="SF-").count() == 0
    assert Contract.objects.count() == 0
    assert ExternalReference.objects.count() == 0
    assert ImportRun.objects.get().dry_run


def test_lines_from_won_opportunity_without_order(fran):
    tables = salesforce_rows()
    tables["Order.csv"][0]["Status"] = "Draft"

    run(tables, fran)

    version = Contract.objects.get(number="SF-00000100").versions.get()
    line = version.lines.get()
    assert (line.line_code, line.quantity, line.unit_price) == ("PLAT", 8, Decimal("990"))


def test_bad_rows_are_all_reported(fran):
    tables = salesforce_rows()
    tables["Contract.csv"][0]["AccountId"] = "001UNKNOWN"
    tables["Contract.csv"][0]["StartDate"] = "31/01/2026"
    tables["PricebookEntry.csv"][0]["CurrencyIsoCode"] = "USX"
    tables["OrderItem.csv"][1]["UnitPrice"] = "-5.00"
    tables["Account.csv"].append(dict(tables["Account.csv"][1]))

    with pytest.raises(ImportInvalid) as raised:
        run(tables, fran)

    text = str(raised.value)
    places = [problem.place for problem in raised.value.problems]
    assert "Contract.csv, row 2, column AccountId" in places
    assert "Contract.csv, row 2, column StartDate" in places
    assert "PricebookEntry.csv, row 2, column CurrencyIsoCode" in places
    assert "OrderItem.csv, row 3, column UnitPrice" in places
    assert "Account.csv, row 4, column Id" in places
    assert "001UNKNOWN" in text
    assert "'31/01/2026' is not a date" in text
    assert "'USX' is not an ISO 4217 currency code" in text
    assert "the unit price -5.00 is negative" in text
    assert "account 001A000002 appears twice" in text
    assert Party.objects.filter(code__startswith="SF-").count() == 0
    assert ImportRun.objects.count() == 0


def test_write_problem_rolls_back_everything(fran):
    # The contract number exists for another customer: found only while writing, after the
    # customers and price list of this run were created.
    from tests.factories import make_contract

    make_contract(number="SF-00000100")
    parties = Party.objects.count()

    with pytest.raises(ImportInvalid) as raised:
        run(salesforce_rows(), fran)

    assert raised.value.problems[0].place == "Contract.csv, row 2"
    assert "exists in the registry for party" in raised.value.problems[0].message
    assert Party.objects.count() == parties
    assert PriceList.objects.filter(code__startswith="SF-").count() == 0
    assert ExternalReference.objects.count() == 0


def test_critical_changes_become_change_requests(fran):
    run(salesforce_rows(), fran)
    tables = salesforce_rows()
    tables["OrderItem.csv"][0]["UnitPrice"] = "975.00"
    tables["PricebookEntry.csv"][1]["UnitPrice"] = "275.00"
    tables["Account.csv"][0]["BillingCity"] = "Shelbyville"
    tables["Contact.csv"][0]["FirstName"] = "Henry"

    second = run(tables, fran)

    assert second.change_requests == 3
    contract = Contract.objects.get(number="SF-00000100")
    request = ChangeRequest.objects.get(target="contract")
    assert request.target_id == str(contract.pk)
    assert request.changes == {"lines": {"PLAT": {"unit_price": "975.00"}}}
    assert request.status == ChangeRequest.Status.PENDING
    assert contract.versions.count() == 1
    assert contract.versions.get().lines.get(line_code="PLAT").unit_price == Decimal("950")

    bill_to = BillToEntity.objects.get(party__code="SF-001A000001")
    assert bill_to.city == "Springfield"
    assert ChangeRequest.objects.get(target="bill_to").changes == {"city": "Shelbyville"}
    # The contact name is not billing-critical: updated at once, with an audit entry.
    assert bill_to.contact_name == "Henry Scorpio"
    assert AuditEntry.objects.filter(action="bill_to.update").count() == 1

    item = PriceListItem.objects.get(product_code="SUPP")
    assert item.unit_price == Decimal("250")
    assert ChangeRequest.objects.get(target="price_list_item").changes == {"unit_price": "275.00"}

    third = run(tables, fran)
    assert (third.created, third.updated, third.change_requests) == (0, 0, 0)
    assert ChangeRequest.objects.count() == 3


def test_approved_price_request_applies_new_item(fran):
    from billguard.controls.requests import change_request_approve

    run(salesforce_rows(), fran)
    tables = salesforce_rows()
    tables["PricebookEntry.csv"][1]["UnitPrice"] = "275.00"
    run(tables, fran)
    request = ChangeRequest.objects.get(target="price_list_item")

    for name in ("alex", "blake"):
        approver = make_user(name, "finance_approver")
        request = change_request_approve(request_id=request.pk, by=approver)
        if request.status != ChangeRequest.Status.PENDING:
            break

    assert request.status == ChangeRequest.Status.APPLIED
    prices = PriceListItem.objects.filter(product_code="SUPP").order_by("valid_from")
    assert [item.unit_price for item in prices] == [Decimal("250"), Decimal("275")]
    again = run(tables, fran)
    assert (again.created, again.change_requests) == (0, 0)


def test_missing_currency_column_needs_option(fran):
    tables = salesforce_rows()
    for name in ("PricebookEntry.csv", "Contract.csv", "Order.csv", "Opportunity.csv"):
        for row in tables[name]:
            row.pop("CurrencyIsoCode", None)

    with pytest.raises(ImportInvalid) as raised:
        run(tables, fran)
    assert "--currency" in str(raised.value)

    result = run(tables, fran, currency="USD")
    assert result.created == 6


def test_contract_without_lines_is_reported(fran):
    tables = salesforce_rows()
    tables["Order.csv"][0]["Status"] = "Draft"
    tables["Opportunity.csv"][0]["IsWon"] = "false"

    with pytest.raises(ImportInvalid) as raised:
        run(tables, fran)

    assert raised.value.problems[0].place == "Contract.csv, row 2, column Id"
    assert "no activated order" in raised.value.problems[0].message


def test_contract_end_date_change_is_requested(fran):
    run(salesforce_rows(), fran)
    tables = salesforce_rows()
    tables["Contract.csv"][0]["ContractTerm"] = "24"

    result = run(tables, fran)

    assert result.change_requests == 1
    request = ChangeRequest.objects.get()
    assert request.changes == {"end_date": "2027-12-31"}
    assert request.status == ChangeRequest.Status.PENDING
    version = Contract.objects.get(number="SF-00000100").versions.get()
    assert str(version.end_date) == "2026-12-31"


def test_contract_start_date_change_is_rejected(fran):
    run(salesforce_rows(), fran)
    tables = salesforce_rows()
    tables["Contract.csv"][0]["StartDate"] = "2026-02-01"

    with pytest.raises(ImportInvalid) as raised:
        run(tables, fran)

    problem = raised.value.problems[0]
    assert problem.place == "Contract.csv, row 2"
    assert "started on 2026-01-01" in problem.message
    assert ChangeRequest.objects.count() == 0


def test_duplicate_contract_number_reported(fran):
    tables = salesforce_rows()
    tables["Contract.csv"].append(dict(tables["Contract.csv"][0], Id="800A000002"))

    with pytest.raises(ImportInvalid) as raised:
        run(tables, fran)

    places = [problem.place for problem in raised.value.problems]
    assert "Contract.csv, row 3, column ContractNumber" in places
    assert "contract number 00000100 appears twice" in str(raised.value)


def test_user_without_create_actions_is_refused(fran):
    from billguard.domain.errors import NotAllowed

    auditor = make_user("audrey", "auditor")
    with pytest.raises(NotAllowed, match="may not create"):
        run(salesforce_rows(), auditor)
    assert ImportRun.objects.count() == 0


def test_dry_run_reports_change_requests(fran):
    run(salesforce_rows(), fran)
    tables = salesforce_rows()
    tables["OrderItem.csv"][0]["Quantity"] = "12"

    dry = run(tables, fran, dry_run=True)

    assert dry.change_requests == 1
    assert ChangeRequest.objects.count() == 0
    requested = [item for item in dry.details if item["action"] == "change_request"]
    assert [item["label"] for item in requested] == ["SF-00000100"]
    assert "change_request" not in requested[0]
    version = Contract.objects.get(number="SF-00000100").versions.get()
    assert version.lines.get(line_code="PLAT").quantity == 10
