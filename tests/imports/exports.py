"""Export files as Salesforce and HubSpot write them, built in the test from rows.

Salesforce's Data Export is a ZIP with one CSV per object, headed by field API names.
HubSpot's export CSVs are headed by property labels. The rows describe one customer with a
monthly subscription, as each system stores it.
"""

from __future__ import annotations

import csv
import io
import zipfile
from copy import deepcopy
from typing import Any

Rows = list[dict[str, str]]

SALESFORCE: dict[str, Rows] = {
    "Account.csv": [
        {
            "Id": "001A000001",
            "IsDeleted": "false",
            "Name": "Globex Corporation",
            "BillingStreet": "1 Globex Way",
            "BillingCity": "Springfield",
            "BillingState": "OR",
            "BillingPostalCode": "97477",
            "BillingCountry": "United States",
        },
        {
            "Id": "001A000002",
            "IsDeleted": "false",
            "Name": "Initech GmbH",
            "BillingStreet": "Hauptstrasse 5",
            "BillingCity": "Berlin",
            "BillingState": "",
            "BillingPostalCode": "10115",
            "BillingCountry": "DE",
        },
    ],
    "Contact.csv": [
        {
            "Id": "003A000001",
            "AccountId": "001A000001",
            "FirstName": "Hank",
            "LastName": "Scorpio",
            "Email": "ap@globex.example",
            "Title": "CFO",
        }
    ],
    "Product2.csv": [
        {"Id": "01tA000001", "Name": "Platform licence", "ProductCode": "PLAT", "IsActive": "true"},
        {"Id": "01tA000002", "Name": "Premium support", "ProductCode": "SUPP", "IsActive": "true"},
    ],
    "Pricebook2.csv": [
        {
            "Id": "01sA000001",
            "Name": "Standard Price Book",
            "IsActive": "true",
            "IsStandard": "true",
        }
    ],
    "PricebookEntry.csv": [
        {
            "Id": "01uA000001",
            "Pricebook2Id": "01sA000001",
            "Product2Id": "01tA000001",
            "UnitPrice": "1000.00",
            "IsActive": "true",
            "CurrencyIsoCode": "USD",
        },
        {
            "Id": "01uA000002",
            "Pricebook2Id": "01sA000001",
            "Product2Id": "01tA000002",
            "UnitPrice": "250.00",
            "IsActive": "true",
            "CurrencyIsoCode": "USD",
        },
    ],
    "Contract.csv": [
        {
            "Id": "800A000001",
            "AccountId": "001A000001",
            "ContractNumber": "00000100",
            "Status": "Activated",
            "StartDate": "2026-01-01",
            "EndDate": "",
            "ContractTerm": "12",
            "Pricebook2Id": "01sA000001",
            "CurrencyIsoCode": "USD",
        }
    ],
    "Order.csv": [
        {
            "Id": "801A000001",
            "AccountId": "001A000001",
            "ContractId": "800A000001",
            "Status": "Activated",
            "EffectiveDate": "2026-01-01",
            "Pricebook2Id": "01sA000001",
            "BillToContactId": "003A000001",
            "CurrencyIsoCode": "USD",
        }
    ],
    "OrderItem.csv": [
        {
            "Id": "802A000001",
            "OrderId": "801A000001",
            "PricebookEntryId": "01uA000001",
            "Product2Id": "01tA000001",
            "Quantity": "10",
            "UnitPrice": "950.00",
            "ServiceDate": "2026-01-01",
        },
        {
            "Id": "802A000002",
            "OrderId": "801A000001",
            "PricebookEntryId": "01uA000002",
            "Product2Id": "01tA000002",
            "Quantity": "1",
            "UnitPrice": "250.00",
            "ServiceDate": "2026-01-01",
        },
    ],
    "Opportunity.csv": [
        {
            "Id": "006A000001",
            "AccountId": "001A000001",
            "ContractId": "800A000001",
            "IsWon": "true",
            "StageName": "Closed Won",
            "CurrencyIsoCode": "USD",
        }
    ],
    "OpportunityLineItem.csv": [
        {
            "Id": "00kA000001",
            "OpportunityId": "006A000001",
            "Product2Id": "01tA000001",
            "Quantity": "8",
            "UnitPrice": "990.00",
        }
    ],
}

HUBSPOT: dict[str, Rows] = {
    "companies": [
        {
            "Record ID": "5001",
            "Company name": "Umbrella Ltd",
            "Street Address": "10 Downing Lane",
            "City": "London",
            "Postal Code": "SW1A 2AA",
            "State/Region": "",
            "Country/Region": "United Kingdom",
        }
    ],
    "deals": [
        {
            "Record ID": "9001",
            "Deal Name": "Umbrella platform 2026",
            "Deal Stage": "Closed Won",
            "Close Date": "2026-02-15 10:30",
            "Amount": "6000",
            "Currency": "GBP",
            "Associated Company IDs": "5001",
        },
        {
            "Record ID": "9002",
            "Deal Name": "Umbrella upsell",
            "Deal Stage": "Contract Sent",
            "Close Date": "2026-06-30",
            "Amount": "900",
            "Currency": "GBP",
            "Associated Company IDs": "5001",
        },
    ],
    "line_items": [
        {
            "Record ID": "7001",
            "Name": "Platform seat",
            "Quantity": "20",
            "Unit price": "25.00",
            "SKU": "SEAT",
            "Term": "P12M",
            "Billing frequency": "Monthly",
            "Billing start date": "2026-03-01",
            "Associated Deal IDs": "9001",
        }
    ],
}


def salesforce_rows() -> dict[str, Rows]:
    return deepcopy(SALESFORCE)


def hubspot_rows() -> dict[str, Rows]:
    return deepcopy(HUBSPOT)


def csv_bytes(rows: Rows, headers: list[str] | None = None) -> bytes:
    headers = headers or list(rows[0])
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=headers, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def salesforce_zip(tables: dict[str, Rows]) -> bytes:
    """Build the ZIP as the Data Export lays it out: one CSV per object at the top level."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, rows in tables.items():
            archive.writestr(name, csv_bytes(rows))
    return buffer.getvalue()


def hubspot_files(tables: dict[str, Rows]) -> dict[str, tuple[str, bytes]]:
    names = {"companies": "hubspot-companies.csv", "deals": "hubspot-deals.csv"}
    return {
        kind: (names.get(kind, "hubspot-line-items.csv"), csv_bytes(rows))
        for kind, rows in tables.items()
    }


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
