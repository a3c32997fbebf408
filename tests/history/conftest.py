"""A small registry for the history imports, and helpers that write export files."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from billguard.registry.models import Contract
from billguard.registry.terms import LineTerms
from tests.factories import make_contract, make_customer

QUICKBOOKS_INVOICE_HEADER = [
    "*InvoiceNo", "*Customer", "*InvoiceDate", "*DueDate", "Terms", "Location", "Memo",
    "Item(Product/Service)", "ItemDescription", "ItemQuantity", "ItemRate", "*ItemAmount",
    "*ItemTaxCode", "ItemTaxAmount", "Currency", "Service Date",
]  # fmt: skip
QUICKBOOKS_CREDIT_MEMO_HEADER = [
    "Credit Memo #", "Customer", "Credit Memo Date", "Memo", "Item(Product/Service)",
    "ItemDescription", "ItemQuantity", "ItemRate", "ItemAmount", "ItemTaxCode",
    "ItemTaxAmount", "Currency", "Service Date",
]  # fmt: skip
QUICKBOOKS_PAYMENT_HEADER = [
    "RefNumber", "TxnDate", "PaymentRefNumber", "Customer", "PaymentMethod",
    "DepositToAccount", "InvoiceApplyTo", "LineAmount", "PrivateNote", "Currency",
]  # fmt: skip
XERO_INVOICE_HEADER = [
    "*ContactName", "EmailAddress", "*InvoiceNumber", "Reference", "*InvoiceDate", "*DueDate",
    "InventoryItemCode", "*Description", "*Quantity", "*UnitAmount", "Discount",
    "*AccountCode", "*TaxType", "TaxAmount", "Currency",
]  # fmt: skip
XERO_CREDIT_NOTE_HEADER = [
    "*ContactName", "EmailAddress", "*CreditNoteNumber", "Reference", "*CreditNoteDate",
    "InventoryItemCode", "*Description", "*Quantity", "*UnitAmount", "Discount",
    "*AccountCode", "*TaxType", "TaxAmount", "Currency",
]  # fmt: skip
XERO_PAYMENT_HEADER = [
    "PaymentID", "Date", "Amount", "Reference", "InvoiceNumber", "ContactName", "CurrencyCode",
]  # fmt: skip


@dataclass
class Book:
    """Customers and contracts that the exports name."""

    northwind: Contract  # the only contract of Northwind Traders GmbH (CUST-A)
    contoso_first: Contract  # Contoso Ltd (CUST-B) has two contracts in force at once
    contoso_second: Contract
    fabrikam: Contract  # Fabrikam Inc (CUST-C), in force from 2026-06-01 only


@pytest.fixture
def book(sample_users) -> Book:  # type: ignore[no-untyped-def]
    make_customer("CUST-A", name="Northwind Traders GmbH")
    make_customer("CUST-B", name="Contoso Ltd", tax_id="DE136695976")
    make_customer("CUST-C", name="Fabrikam Inc", tax_id="DE129273398")
    lines = [
        LineTerms(
            line_code="L1", kind="recurring_fixed", description="Platform fee",
            unit_price=Decimal("1000.00"), quantity=Decimal("1"), product_code="PLATFORM",
            gl_account="4000",
        ),
        LineTerms(
            line_code="L2", kind="usage", description="API calls",
            unit_price=Decimal("0.25"), product_code="API-CALLS", gl_account="4000",
        ),
    ]  # fmt: skip
    northwind = make_contract("C-1", customer_code="CUST-A", lines=lines).contract
    first = make_contract("C-2", customer_code="CUST-B", lines=lines).contract
    second = make_contract("C-3", customer_code="CUST-B", lines=lines).contract
    fabrikam = make_contract(
        "C-4", customer_code="CUST-C", lines=lines, effective_from=dt.date(2026, 6, 1)
    ).contract
    return Book(northwind, first, second, fabrikam)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def quickbooks_line(
    number: str,
    customer: str,
    *,
    date: str = "11/01/2026",
    due: str = "12/01/2026",
    memo: str = "",
    item: str = "PLATFORM",
    quantity: str = "1",
    rate: str = "1000.00",
    amount: str = "1000.00",
    tax: str = "190.00",
    currency: str = "EUR",
    service_date: str = "",
) -> list[str]:
    return [
        number, customer, date, due, "Net 30", "", memo, item, f"{item} item", quantity, rate,
        amount, "19% VAT", tax, currency, service_date,
    ]  # fmt: skip
