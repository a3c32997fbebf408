"""Importing HubSpot exports and mapped CSV or XLSX files."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billguard.controls.models import ChangeRequest
from billguard.domain.errors import InvalidInput
from billguard.imports.models import ColumnMapping
from billguard.imports.records import ImportInvalid
from billguard.imports.services import import_file, import_hubspot, mapping_save
from billguard.registry.models import BillToEntity, Contract, Party
from tests.acting_users import make_user
from tests.factories import make_seller
from tests.imports.exports import csv_bytes, hubspot_files, hubspot_rows, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def fran():
    make_seller()
    return make_user("fran", "finance")


def test_hubspot_closed_won_deal_becomes_contract(fran):
    result = import_hubspot(files=hubspot_files(hubspot_rows()), by=fran)

    party = Party.objects.get(code="HS-5001")
    assert BillToEntity.objects.get(party=party).postcode == "SW1A 2AA"
    contract = Contract.objects.get(number="HS-9001")
    assert contract.title == "Umbrella platform 2026"
    version = contract.versions.get()
    assert (version.currency, version.cadence) == ("GBP", "monthly")
    assert version.effective_from == dt.date(2026, 3, 1)
    assert version.end_date == dt.date(2027, 2, 28)
    line = version.lines.get()
    assert (line.line_code, line.quantity, line.unit_price) == ("SEAT", 20, Decimal("25"))
    assert not Contract.objects.filter(number="HS-9002").exists()
    assert result.created == 2


def test_hubspot_second_run_and_quantity_request(fran):
    import_hubspot(files=hubspot_files(hubspot_rows()), by=fran)
    again = import_hubspot(files=hubspot_files(hubspot_rows()), by=fran)
    assert (again.created, again.updated, again.change_requests, again.unchanged) == (0, 0, 0, 2)

    tables = hubspot_rows()
    tables["line_items"][0]["Quantity"] = "25"
    changed = import_hubspot(files=hubspot_files(tables), by=fran)

    assert changed.change_requests == 1
    request = ChangeRequest.objects.get()
    assert request.changes == {"lines": {"SEAT": {"quantity": "25"}}}
    assert Contract.objects.get(number="HS-9001").versions.get().lines.get().quantity == 20


def test_hubspot_bad_rows_reported_together(fran):
    tables = hubspot_rows()
    tables["companies"].append(dict(tables["companies"][0]))
    tables["deals"][0]["Associated Company IDs"] = "5999"
    tables["deals"][0]["Currency"] = "POUND"
    tables["line_items"][0]["Unit price"] = "-25"
    tables["line_items"][0]["Billing frequency"] = "Fortnightly"

    with pytest.raises(ImportInvalid) as raised:
        import_hubspot(files=hubspot_files(tables), by=fran)

    places = {problem.place for problem in raised.value.problems}
    assert "hubspot-companies.csv, row 3, column Record ID" in places
    assert "hubspot-deals.csv, row 2, column Associated Company IDs" in places
    assert "hubspot-deals.csv, row 2, column Currency" in places
    assert "hubspot-line-items.csv, row 2, column Unit price" in places
    assert "hubspot-line-items.csv, row 2, column Billing frequency" in places
    assert Party.objects.filter(code__startswith="HS-").count() == 0


def test_hubspot_country_name_or_code(fran):
    tables = hubspot_rows()
    tables["companies"].append(dict(tables["companies"][0], **{"Record ID": "5002"}))
    tables["companies"][1]["Country/Region"] = "Narnia"

    with pytest.raises(ImportInvalid) as raised:
        import_hubspot(files=hubspot_files(tables), by=fran)

    assert len(raised.value.problems) == 1
    problem = raised.value.problems[0]
    assert problem.place == "hubspot-companies.csv, row 3, column Country/Region"
    assert problem.value == "Narnia"

    tables["companies"][1]["Country/Region"] = "FR"
    import_hubspot(files=hubspot_files(tables), by=fran)
    assert Party.objects.get(code="HS-5001").country == "GB"
    assert Party.objects.get(code="HS-5002").country == "FR"


def test_hubspot_deals_need_line_items(fran):
    files = hubspot_files(hubspot_rows())
    del files["line_items"]
    with pytest.raises(InvalidInput, match="line items"):
        import_hubspot(files=files, by=fran)


def save_erp_mappings(by):
    mapping_save(
        name="erp-customers",
        target="customers",
        source="erp",
        columns={"Kundennr": "external_id", "Firma": "name", "Land": "country", "Ort": "city"},
        by=by,
    )
    mapping_save(
        name="erp-contracts",
        target="contracts",
        source="erp",
        columns={
            "Vertrag": "external_id",
            "Nummer": "number",
            "Kunde": "customer_id",
            "Beginn": "start_date",
            "Waehrung": "currency",
            "Zahlungsziel": "payment_terms_days",
        },
        by=by,
    )
    mapping_save(
        name="erp-lines",
        target="contract_lines",
        source="erp",
        columns={
            "Vertrag": "contract_id",
            "Pos": "line_code",
            "Text": "description",
            "Menge": "quantity",
            "Preis": "unit_price",
        },
        by=by,
    )


def erp_files(*, price: str = "120.50", city: str = "Hamburg"):
    customers = csv_bytes(
        [{"Kundennr": "K1", "Firma": "Hanse Logistik GmbH", "Land": "DE", "Ort": city}]
    )
    contracts = xlsx_bytes(
        [
            ["Vertrag", "Nummer", "Kunde", "Beginn", "Waehrung", "Zahlungsziel"],
            ["V1", "ERP-V1", "K1", dt.date(2026, 1, 1), "EUR", 30],
        ]
    )
    lines = csv_bytes(
        [{"Vertrag": "V1", "Pos": "10", "Text": "Hosting", "Menge": "2", "Preis": price}]
    )
    return [
        ("kunden.csv", customers, "erp-customers"),
        ("vertraege.xlsx", contracts, "erp-contracts"),
        ("positionen.csv", lines, "erp-lines"),
    ]


def test_mapped_files_create_and_repeat(fran):
    save_erp_mappings(fran)

    first = import_file(files=erp_files(), by=fran)

    contract = Contract.objects.get(number="ERP-V1")
    version = contract.versions.get()
    assert version.payment_terms_days == 30
    assert version.effective_from == dt.date(2026, 1, 1)
    line = version.lines.get()
    assert (line.line_code, line.quantity, line.unit_price) == ("10", 2, Decimal("120.5"))
    assert Party.objects.get(code="ERP-K1").name == "Hanse Logistik GmbH"
    assert first.created == 2

    second = import_file(files=erp_files(), by=fran)
    assert (second.created, second.updated, second.change_requests) == (0, 0, 0)


def test_mapped_lines_file_alone_requests_change(fran):
    save_erp_mappings(fran)
    import_file(files=erp_files(), by=fran)

    lines_only = [erp_files(price="130.00")[2]]
    result = import_file(files=lines_only, by=fran)

    assert result.change_requests == 1
    request = ChangeRequest.objects.get()
    assert request.changes == {"lines": {"10": {"unit_price": "130.00"}}}


def test_mapped_contracts_file_keeps_lines(fran):
    save_erp_mappings(fran)
    import_file(files=erp_files(), by=fran)

    contracts_only = [erp_files()[1]]
    result = import_file(files=contracts_only, by=fran)

    assert (result.change_requests, result.unchanged) == (0, 1)


def test_mapped_bad_xlsx_row(fran):
    save_erp_mappings(fran)
    files = erp_files()
    files[1] = (
        "vertraege.xlsx",
        xlsx_bytes(
            [
                ["Vertrag", "Nummer", "Kunde", "Beginn", "Waehrung", "Zahlungsziel"],
                ["V1", "ERP-V1", "K9", "2026-13-01", "EURO", 30],
            ]
        ),
        "erp-contracts",
    )

    with pytest.raises(ImportInvalid) as raised:
        import_file(files=files, by=fran)

    places = {problem.place for problem in raised.value.problems}
    assert "vertraege.xlsx, row 2, column Beginn" in places
    assert "vertraege.xlsx, row 2, column Waehrung" in places
    assert Party.objects.filter(code="ERP-K1").count() == 0


def test_mapping_save_rejects_missing_required(fran):
    with pytest.raises(InvalidInput, match="country"):
        mapping_save(
            name="partial",
            target="customers",
            source="erp",
            columns={"Id": "external_id", "Name": "name"},
            by=fran,
        )
    with pytest.raises(InvalidInput, match="not a field of customers"):
        mapping_save(
            name="typo",
            target="customers",
            source="erp",
            columns={"Id": "external_id", "Name": "name", "Land": "contry"},
            by=fran,
        )
    assert ColumnMapping.objects.count() == 0


def test_mapping_header_mismatch_names_columns(fran):
    save_erp_mappings(fran)
    files = [
        (
            "kunden.csv",
            csv_bytes([{"Customer": "K1", "Firma": "X", "Land": "DE", "Ort": ""}]),
            "erp-customers",
        )
    ]

    with pytest.raises(ImportInvalid) as raised:
        import_file(files=files, by=fran)

    assert raised.value.problems[0].place == "kunden.csv, row 1, column Kundennr"


def test_mapped_customer_matches_party_by_code(fran):
    from billguard.imports.models import ExternalReference
    from tests.factories import make_customer

    party, bill_to = make_customer("CUST-1")
    mapping_save(
        name="crm-customers",
        target="customers",
        source="crm",
        columns={
            "Id": "external_id",
            "Code": "code",
            "Name": "name",
            "Country": "country",
            "Town": "city",
        },
        by=fran,
    )
    row = {"Id": "K7", "Code": "CUST-1", "Name": party.name, "Country": "DE", "Town": "Munich"}

    matched = import_file(files=[("crm.csv", csv_bytes([row]), "crm-customers")], by=fran)

    assert (matched.created, matched.updated, matched.change_requests) == (0, 0, 0)
    reference = ExternalReference.objects.get(source="crm", object_type="customer")
    assert (reference.external_id, reference.record_id) == ("K7", party.pk)
    # The file has no tax ID column, so the registry's tax ID stays and nothing is requested.
    assert BillToEntity.objects.get(pk=bill_to.pk).tax_id == "DE123456788"

    moved = import_file(
        files=[("crm.csv", csv_bytes([dict(row, Town="Augsburg")]), "crm-customers")], by=fran
    )

    assert moved.change_requests == 1
    request = ChangeRequest.objects.get()
    assert (request.target, request.target_id) == ("bill_to", str(bill_to.pk))
    assert request.changes == {"city": "Augsburg"}


def test_merged_party_is_followed_to_survivor(fran):
    from tests.factories import make_customer

    import_hubspot(files=hubspot_files(hubspot_rows()), by=fran)
    survivor, _ = make_customer("CUST-1")
    merged = Party.objects.get(code="HS-5001")
    Party.objects.filter(pk=merged.pk).update(merged_into=survivor)
    BillToEntity.objects.filter(party=merged).update(party=survivor)
    Contract.objects.filter(party=merged).update(party=survivor)
    parties = Party.objects.count()

    again = import_hubspot(files=hubspot_files(hubspot_rows()), by=fran)

    assert (again.created, again.updated, again.change_requests) == (0, 0, 0)
    assert Party.objects.count() == parties
    assert Party.objects.get(pk=survivor.pk).name == "Northwind Traders GmbH"


def test_mapped_price_list_items(fran):
    from billguard.registry.models import PriceList

    mapping_save(
        name="erp-prices",
        target="price_list_items",
        source="erp",
        columns={
            "Liste": "price_list_id",
            "Waehrung": "currency",
            "Eintrag": "external_id",
            "Artikel": "product_code",
            "Preis": "unit_price",
            "Ab": "valid_from",
        },
        by=fran,
    )
    rows = [
        {
            "Liste": "PL1",
            "Waehrung": "EUR",
            "Eintrag": "E1",
            "Artikel": "HOST",
            "Preis": "99.90",
            "Ab": "2026-01-01",
        },
        {
            "Liste": "PL1",
            "Waehrung": "EUR",
            "Eintrag": "E2",
            "Artikel": "SUPP",
            "Preis": "10",
            "Ab": "2026-01-01",
        },
    ]

    created = import_file(files=[("preise.csv", csv_bytes(rows), "erp-prices")], by=fran)

    price_list = PriceList.objects.get(code="ERP-PL1")
    assert price_list.currency == "EUR"
    assert dict(price_list.items.values_list("product_code", "unit_price")) == {
        "HOST": Decimal("99.9"),
        "SUPP": Decimal("10"),
    }
    assert created.created == 3

    rows[0]["Preis"] = "104.90"
    rows[1]["Waehrung"] = "USD"
    with pytest.raises(ImportInvalid) as raised:
        import_file(files=[("preise.csv", csv_bytes(rows), "erp-prices")], by=fran)
    assert [p.place for p in raised.value.problems] == ["preise.csv, row 3, column Waehrung"]

    rows[1]["Waehrung"] = "EUR"
    changed = import_file(files=[("preise.csv", csv_bytes(rows), "erp-prices")], by=fran)
    assert changed.change_requests == 1
    assert ChangeRequest.objects.get().changes == {"unit_price": "104.90"}
