"""The column layouts of the QuickBooks Online and Xero files, mapped to one set of fields.

A header is matched after normalisation: lower case, with the asterisk that marks a mandatory
column and every character other than a letter or digit removed. So ``*InvoiceNo``,
``InvoiceNo`` and ``Invoice No`` are the same column, and ``Item(Product/Service)`` is
``itemproductservice``. docs/history.md lists the layouts and where each is documented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

QUICKBOOKS = "quickbooks"
XERO = "xero"
SYSTEMS = (QUICKBOOKS, XERO)

INVOICES = "invoices"
CREDIT_NOTES = "credit_notes"
PAYMENTS = "payments"

# Day order of the slash dates each system writes by default: QuickBooks Online US companies
# write 12/31/2026 (month first), and Xero's import template requires DD/MM/YYYY.
DEFAULT_DATE_ORDER = {QUICKBOOKS: "mdy", XERO: "dmy"}

_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True)
class Column:
    """A field of the layout: the headers that name it and whether a file must have it."""

    field: str
    headers: tuple[str, ...]  # normalised
    required: bool = False
    label: str = ""  # the header as the system's documentation spells it


@dataclass(frozen=True)
class Layout:
    system: str
    kind: str
    columns: tuple[Column, ...]

    @property
    def label(self) -> str:
        names = {QUICKBOOKS: "QuickBooks Online", XERO: "Xero"}
        kinds = {INVOICES: "invoice", CREDIT_NOTES: "credit note", PAYMENTS: "payment"}
        return f"{names[self.system]} {kinds[self.kind]} file"


def normalize_header(text: str) -> str:
    return _NOT_ALPHANUMERIC.sub("", text.strip().lstrip("\ufeff").lower())


def _columns(*items: tuple[str, tuple[str, ...], bool]) -> tuple[Column, ...]:
    return tuple(
        Column(field, tuple(normalize_header(h) for h in headers), required, headers[0])
        for field, headers, required in items
    )


# QuickBooks Online's invoice import columns (its sample file spells them InvoiceNo,
# Customer, InvoiceDate, ...; its import screen, "Invoice number", "Invoice date", ...).
_QUICKBOOKS_LINES = (
    ("customer", ("Customer",), True),
    ("reference", ("Memo",), False),
    ("terms", ("Terms",), False),
    ("item_code", ("Item(Product/Service)", "Product/Service", "Item"), False),
    ("description", ("ItemDescription",), False),
    ("quantity", ("ItemQuantity",), False),
    ("unit_price", ("ItemRate",), False),
    ("net_amount", ("ItemAmount",), True),
    ("tax_code", ("ItemTaxCode", "TaxCode"), False),
    ("tax_amount", ("ItemTaxAmount", "TaxAmount"), False),
    ("currency", ("Currency",), False),
    ("service_date", ("Service Date", "ServiceDate"), False),
)

_XERO_LINES = (
    ("customer", ("ContactName",), True),
    ("reference", ("Reference",), False),
    ("total", ("Total",), False),
    ("tax_total", ("TaxTotal",), False),
    ("balance", ("InvoiceAmountDue",), False),
    ("item_code", ("InventoryItemCode",), False),
    ("description", ("Description",), False),
    ("quantity", ("Quantity",), True),
    ("unit_price", ("UnitAmount",), True),
    ("discount_percent", ("Discount",), False),
    ("net_amount", ("LineAmount",), False),
    ("account_code", ("AccountCode",), False),
    ("tax_code", ("TaxType",), False),
    ("tax_amount", ("TaxAmount",), False),
    ("currency", ("Currency",), False),
)

LAYOUTS: dict[tuple[str, str], Layout] = {
    (QUICKBOOKS, INVOICES): Layout(
        QUICKBOOKS,
        INVOICES,
        _columns(
            ("number", ("InvoiceNo", "Invoice number"), True),
            ("issue_date", ("InvoiceDate",), True),
            ("due_date", ("DueDate",), True),
            *_QUICKBOOKS_LINES,
        ),
    ),
    # QuickBooks Online's own import screen takes no credit memos. So the layout is the
    # invoice layout with the credit memo's number and date, under the labels QuickBooks
    # Online gives them ("Credit Memo #", "Credit Memo Date").
    (QUICKBOOKS, CREDIT_NOTES): Layout(
        QUICKBOOKS,
        CREDIT_NOTES,
        _columns(
            ("number", ("CreditMemoNo", "Credit Memo #", "Credit Memo number"), True),
            ("issue_date", ("CreditMemoDate",), True),
            ("due_date", ("DueDate",), False),
            *_QUICKBOOKS_LINES,
        ),
    ),
    # Receive-payment rows: one row per invoice a payment is applied to, grouped by RefNumber.
    (QUICKBOOKS, PAYMENTS): Layout(
        QUICKBOOKS,
        PAYMENTS,
        _columns(
            ("payment_id", ("RefNumber", "Receive Payment #"), True),
            ("received_on", ("TxnDate", "Payment Date"), True),
            ("reference", ("PaymentRefNumber", "Reference No."), False),
            ("customer", ("Customer",), True),
            ("invoice_number", ("InvoiceApplyTo", "Invoice Apply", "Invoice no"), False),
            ("amount", ("LineAmount", "Amount Received", "Payment"), True),
            ("currency", ("Currency",), False),
        ),
    ),
    (XERO, INVOICES): Layout(
        XERO,
        INVOICES,
        _columns(
            ("number", ("InvoiceNumber",), True),
            ("issue_date", ("InvoiceDate",), True),
            ("due_date", ("DueDate",), True),
            *_XERO_LINES,
        ),
    ),
    (XERO, CREDIT_NOTES): Layout(
        XERO,
        CREDIT_NOTES,
        _columns(
            ("number", ("CreditNoteNumber",), True),
            ("issue_date", ("CreditNoteDate",), True),
            ("due_date", ("DueDate",), False),
            *_XERO_LINES,
        ),
    ),
    # Xero has no payment import screen; the columns are the Xero Accounting API's Payment
    # fields, one row per payment (a Xero payment pays one invoice).
    (XERO, PAYMENTS): Layout(
        XERO,
        PAYMENTS,
        _columns(
            ("payment_id", ("PaymentID",), True),
            ("received_on", ("Date",), True),
            ("amount", ("Amount",), True),
            ("reference", ("Reference",), False),
            ("invoice_number", ("InvoiceNumber",), True),
            ("customer", ("ContactName",), False),
            ("currency", ("CurrencyCode", "Currency"), False),
        ),
    ),
}


def layout_for(system: str, kind: str) -> Layout:
    return LAYOUTS[(system, kind)]
