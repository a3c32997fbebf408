"""The invoice document as every channel sees it: drafts of the billing run, UBL files, CSV
and JSON from other systems all become an ``InvoiceDocument`` before the checks look at it.

Amounts are Decimals in the document's currency (``InvoiceDocument.currency``); the field
names follow the EN 16931 semantic model (BT numbers in the comments).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from decimal import Decimal


class DocumentType(enum.Enum):
    INVOICE = "invoice"  # UNTDID 1001 code 380
    CREDIT_NOTE = "credit_note"  # UNTDID 1001 code 381


@dataclass
class Address:
    street: str = ""
    additional_street: str = ""
    city: str = ""
    postcode: str = ""
    subdivision: str = ""
    country: str = ""  # ISO 3166-1 alpha-2 (BT-40, BT-55)


@dataclass
class PartyInfo:
    """Seller (BG-4) or buyer (BG-7) of a document."""

    name: str = ""  # BT-27 / BT-44
    # VAT identifier with country prefix (BT-31 / BT-48), or a tax ID of another scheme
    # such as a US EIN, which UBL output writes as a tax registration or legal identifier.
    tax_id: str = ""
    registration_id: str = ""  # legal registration identifier, BT-30 / BT-47
    identifier: str = ""  # BT-29 / BT-46, such as a customer number
    address: Address = field(default_factory=Address)
    contact_email: str = ""


@dataclass
class AllowanceCharge:
    """A document-level (BG-20, BG-21) or line-level (BG-27, BG-28) allowance or charge."""

    is_charge: bool
    amount: Decimal
    base_amount: Decimal | None = None
    percent: Decimal | None = None
    reason: str = ""
    reason_code: str = ""
    tax_category: str = ""  # only on document level
    tax_rate: Decimal | None = None


@dataclass
class InvoiceLine:
    """One line (BG-25)."""

    line_id: str  # BT-126
    description: str  # item name, BT-153
    quantity: Decimal  # BT-129
    unit_code: str  # UN/ECE Rec 20, BT-130
    unit_price: Decimal  # net price, BT-146
    net_amount: Decimal  # BT-131
    price_base_quantity: Decimal = Decimal(1)  # BT-149
    tax_category: str = "S"  # UNCL 5305, BT-151
    tax_rate: Decimal | None = None  # percent, BT-152
    exemption_reason: str = ""
    item_id: str = ""  # seller's item identifier, BT-155; our contract line code
    gl_account: str = ""  # buyer accounting reference, BT-133
    service_start: dt.date | None = None  # BT-134
    service_end: dt.date | None = None  # BT-135
    allowances_charges: list[AllowanceCharge] = field(default_factory=list)
    gross_price: Decimal | None = None  # BT-148
    discount_percent: Decimal | None = None


@dataclass
class TaxSubtotal:
    """VAT breakdown per category and rate (BG-23)."""

    category: str  # BT-118
    rate: Decimal | None  # BT-119
    taxable_amount: Decimal  # BT-116
    tax_amount: Decimal  # BT-117
    exemption_reason: str = ""  # BT-120
    exemption_reason_code: str = ""  # BT-121


@dataclass
class Totals:
    """Document totals (BG-22)."""

    line_extension: Decimal  # BT-106
    allowance_total: Decimal  # BT-107
    charge_total: Decimal  # BT-108
    tax_exclusive: Decimal  # BT-109
    tax_total: Decimal  # BT-110
    tax_inclusive: Decimal  # BT-112
    prepaid: Decimal  # BT-113
    rounding: Decimal  # BT-114
    payable: Decimal  # BT-115


@dataclass
class SupportingDocument:
    """An additional supporting document (BG-24), such as the signed SOW behind the terms."""

    identifier: str  # BT-122
    description: str = ""  # BT-123


@dataclass
class InvoiceDocument:
    """An invoice or credit note, drafted here or read from another system."""

    document_type: DocumentType
    number: str  # BT-1; empty on a draft
    issue_date: dt.date | None  # BT-2
    currency: str  # BT-5
    seller: PartyInfo
    buyer: PartyInfo
    lines: list[InvoiceLine]
    tax_subtotals: list[TaxSubtotal]
    totals: Totals
    allowances_charges: list[AllowanceCharge] = field(default_factory=list)
    due_date: dt.date | None = None  # BT-9
    buyer_reference: str = ""  # BT-10
    order_reference: str = ""  # customer PO, BT-13
    contract_reference: str = ""  # BT-12
    period_start: dt.date | None = None  # BT-73
    period_end: dt.date | None = None  # BT-74
    payment_terms: str = ""  # BT-20
    preceding_invoice: str = ""  # BT-25, on credit notes
    tax_currency: str = ""  # BT-6
    notes: list[str] = field(default_factory=list)
    supporting_documents: list[SupportingDocument] = field(default_factory=list)  # BG-24
    source: str = ""  # where it came from: a file name, "billing run 12"
