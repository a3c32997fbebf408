"""Read UBL 2.1 invoices and credit notes into the InvoiceDocument model.

The mapping follows the EN 16931 binding to UBL 2.1 (CEN/TS 16931-3-2). Amounts, quantities and
rates become Decimals parsed from the element text, never floats. Errors name the file, the
element path and the value. Reading stores nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from decimal import Decimal
from pathlib import Path

from lxml import etree

from billguard.domain.currencies import is_currency
from billguard.domain.errors import InvalidInput
from billguard.domain.invoice import (
    Address,
    AllowanceCharge,
    DocumentType,
    InvoiceDocument,
    InvoiceLine,
    PartyInfo,
    TaxSubtotal,
    Totals,
)
from billguard.einvoice.errors import UnreadableDocument
from billguard.einvoice.ubl_names import CREDIT_NOTE_ROOT, NAMESPACES
from billguard.einvoice.xml_input import element_path, parse_xml, require_ubl_root

# UNTDID 1001 codes that EN 16931 lists for credit notes (BT-3). A UBL Invoice carrying one of
# these is a credit note as well.
CREDIT_NOTE_TYPE_CODES = frozenset(
    {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}
)

# The lexical form of xs:decimal: no exponent, no thousands separator, no NaN or Infinity.
_XS_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
# The lexical form of xs:date; a time zone suffix is accepted and ignored.
_XS_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:\d{2})?")


def read_ubl(path_or_bytes: str | os.PathLike[str] | bytes, *, source: str) -> InvoiceDocument:
    """Parse a UBL 2.1 Invoice or CreditNote and return it as an InvoiceDocument.

    ``source`` names the file in error messages and is stored in ``InvoiceDocument.source``.
    Raises UnreadableDocument when the input is not XML or not UBL, and InvalidInput when a
    value is malformed or a mandatory element is missing.
    """
    data = _load(path_or_bytes, source)
    root = parse_xml(data, source=source)
    require_ubl_root(root, source=source)
    return _UblReader(root, source).read_document()


def _load(path_or_bytes: str | os.PathLike[str] | bytes, source: str) -> bytes:
    if isinstance(path_or_bytes, bytes):
        return path_or_bytes
    try:
        return Path(path_or_bytes).read_bytes()
    except OSError as error:
        raise UnreadableDocument(
            f"the file could not be read: {error.strerror}.",
            place=source,
            value=str(path_or_bytes),
            fix="Check the path and that the file is readable.",
        ) from error


class _UblReader:
    """Mapper of one parsed UBL document to the model. Each lookup starts at one of its elements."""

    def __init__(self, root: etree._Element, source: str) -> None:
        self.root = root
        self.source = source
        self.is_credit_note = root.tag == CREDIT_NOTE_ROOT
        # UBL 2.1 names the lines and their quantity differently in the two document types.
        self.line_path = "cac:CreditNoteLine" if self.is_credit_note else "cac:InvoiceLine"
        self.quantity_path = (
            "cbc:CreditedQuantity" if self.is_credit_note else "cbc:InvoicedQuantity"
        )
        self.type_code_path = (
            "cbc:CreditNoteTypeCode" if self.is_credit_note else "cbc:InvoiceTypeCode"
        )

    def read_document(self) -> InvoiceDocument:
        root = self.root
        number = self._required_text(root, "cbc:ID", "the invoice number (BT-1)")
        issue_date = self._required_date(root, "cbc:IssueDate", "the issue date (BT-2)")
        currency = self._currency(root, "cbc:DocumentCurrencyCode", required=True)
        tax_currency = self._currency(root, "cbc:TaxCurrencyCode", required=False)

        line_elements = root.findall(self.line_path, NAMESPACES)
        if not line_elements:
            raise InvalidInput(
                f"the document has no {self.line_path}, but EN 16931 requires at least one "
                "line (BR-16).",
                place=f"{self.source}, {element_path(root)}",
                fix="Export the invoice again with its lines.",
            )
        tax_subtotals, tax_total = self._tax_breakdown(currency)

        return InvoiceDocument(
            document_type=self._document_type(),
            number=number,
            issue_date=issue_date,
            currency=currency,
            seller=self._party("cac:AccountingSupplierParty", "the seller (BG-4)"),
            buyer=self._party("cac:AccountingCustomerParty", "the buyer (BG-7)"),
            lines=[self._line(element) for element in line_elements],
            tax_subtotals=tax_subtotals,
            totals=self._totals(tax_total),
            allowances_charges=[
                self._allowance_charge(element)
                for element in root.findall("cac:AllowanceCharge", NAMESPACES)
            ],
            due_date=self._due_date(),
            buyer_reference=self._text(root, "cbc:BuyerReference"),
            order_reference=self._text(root, "cac:OrderReference/cbc:ID"),
            contract_reference=self._text(root, "cac:ContractDocumentReference/cbc:ID"),
            period_start=self._date(root, "cac:InvoicePeriod/cbc:StartDate"),
            period_end=self._date(root, "cac:InvoicePeriod/cbc:EndDate"),
            payment_terms=self._text(root, "cac:PaymentTerms/cbc:Note"),
            preceding_invoice=self._text(
                root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"
            ),
            tax_currency=tax_currency,
            notes=[
                (note.text or "").strip()
                for note in root.findall("cbc:Note", NAMESPACES)
                if (note.text or "").strip()
            ],
            source=self.source,
        )

    # Document parts

    def _document_type(self) -> DocumentType:
        type_code = self._text(self.root, self.type_code_path)
        if self.is_credit_note or type_code in CREDIT_NOTE_TYPE_CODES:
            return DocumentType.CREDIT_NOTE
        return DocumentType.INVOICE

    def _due_date(self) -> dt.date | None:
        # BT-9 is cbc:DueDate on an Invoice; a UBL 2.1 CreditNote has no DueDate element, so
        # EN 16931 binds BT-9 to PaymentMeans/PaymentDueDate there.
        due_date = self._date(self.root, "cbc:DueDate")
        if due_date is not None:
            return due_date
        for means in self.root.findall("cac:PaymentMeans", NAMESPACES):
            due_date = self._date(means, "cbc:PaymentDueDate")
            if due_date is not None:
                return due_date
        return None

    def _party(self, role_path: str, term: str) -> PartyInfo:
        party = self.root.find(f"{role_path}/cac:Party", NAMESPACES)
        if party is None:
            raise self._missing(self.root, f"{role_path}/cac:Party", term)
        # BT-27 and BT-44 bind to the legal registration name; the trading name is the fallback.
        name = self._text(party, "cac:PartyLegalEntity/cbc:RegistrationName") or self._text(
            party, "cac:PartyName/cbc:Name"
        )
        return PartyInfo(
            name=name,
            tax_id=self._tax_identifier(party),
            registration_id=self._text(party, "cac:PartyLegalEntity/cbc:CompanyID"),
            identifier=self._text(party, "cac:PartyIdentification/cbc:ID"),
            address=self._address(party.find("cac:PostalAddress", NAMESPACES)),
            contact_email=self._text(party, "cac:Contact/cbc:ElectronicMail"),
        )

    def _tax_identifier(self, party: etree._Element) -> str:
        """Return the party's VAT identifier (BT-31, BT-48), else the CompanyID of its first
        other tax scheme, which is the seller tax registration identifier (BT-32).

        The UBL writer puts a seller tax ID without a country prefix, such as a US EIN, into
        BT-32, so this reads it back. A party may list several schemes: Swedish invoices, for
        instance, add a TAX entry for the F-skatt approval next to the VAT identifier.
        """
        other = ""
        for scheme in party.findall("cac:PartyTaxScheme", NAMESPACES):
            company_id = self._text(scheme, "cbc:CompanyID")
            if self._text(scheme, "cac:TaxScheme/cbc:ID").upper() == "VAT":
                return company_id
            other = other or company_id
        return other

    def _address(self, address: etree._Element | None) -> Address:
        if address is None:
            return Address()
        return Address(
            street=self._text(address, "cbc:StreetName"),
            additional_street=self._text(address, "cbc:AdditionalStreetName"),
            city=self._text(address, "cbc:CityName"),
            postcode=self._text(address, "cbc:PostalZone"),
            subdivision=self._text(address, "cbc:CountrySubentity"),
            country=self._text(address, "cac:Country/cbc:IdentificationCode"),
        )

    def _allowance_charge(self, element: etree._Element) -> AllowanceCharge:
        """Map a document-level or line-level AllowanceCharge (BG-20, BG-21, BG-27, BG-28)."""
        return AllowanceCharge(
            is_charge=self._charge_indicator(element),
            amount=self._required_decimal(
                element, "cbc:Amount", "the allowance or charge amount (BT-92, BT-99)"
            ),
            base_amount=self._decimal(element, "cbc:BaseAmount"),
            percent=self._decimal(element, "cbc:MultiplierFactorNumeric"),
            reason=self._text(element, "cbc:AllowanceChargeReason"),
            reason_code=self._text(element, "cbc:AllowanceChargeReasonCode"),
            tax_category=self._text(element, "cac:TaxCategory/cbc:ID"),
            tax_rate=self._decimal(element, "cac:TaxCategory/cbc:Percent"),
        )

    def _charge_indicator(self, element: etree._Element) -> bool:
        indicator = element.find("cbc:ChargeIndicator", NAMESPACES)
        if indicator is None:
            raise self._missing(element, "cbc:ChargeIndicator", "the charge indicator")
        text = (indicator.text or "").strip()
        # xs:boolean accepts true, false, 1 and 0.
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise InvalidInput(
            f"{text!r} is not a boolean.",
            place=self._place(indicator),
            value=text,
            fix="Write true for a charge or false for an allowance.",
        )

    def _tax_breakdown(self, currency: str) -> tuple[list[TaxSubtotal], Decimal | None]:
        """Return the VAT breakdown (BG-23) and the VAT total (BT-110) in the document currency.

        A document with a tax currency (BT-6) has a second TaxTotal in that currency holding
        only BT-111; EN 16931 puts the breakdown in the document currency's TaxTotal.
        """
        tax_totals = self.root.findall("cac:TaxTotal", NAMESPACES)
        chosen = None
        for tax_total in tax_totals:
            amount = tax_total.find("cbc:TaxAmount", NAMESPACES)
            if amount is not None and amount.get("currencyID") == currency:
                chosen = tax_total
                break
        if chosen is None:
            # No TaxTotal is in the document currency, which BR-CO-15 rejects because it needs
            # exactly one. The breakdown is then taken from the first TaxTotal that has one.
            with_subtotals = [
                t for t in tax_totals if t.find("cac:TaxSubtotal", NAMESPACES) is not None
            ]
            if not with_subtotals:
                return [], None
            chosen = with_subtotals[0]
        subtotals = [
            self._tax_subtotal(element) for element in chosen.findall("cac:TaxSubtotal", NAMESPACES)
        ]
        return subtotals, self._decimal(chosen, "cbc:TaxAmount")

    def _tax_subtotal(self, element: etree._Element) -> TaxSubtotal:
        return TaxSubtotal(
            category=self._required_text(
                element, "cac:TaxCategory/cbc:ID", "the VAT category code (BT-118)"
            ),
            rate=self._decimal(element, "cac:TaxCategory/cbc:Percent"),
            taxable_amount=self._required_decimal(
                element, "cbc:TaxableAmount", "the VAT category taxable amount (BT-116)"
            ),
            tax_amount=self._required_decimal(
                element, "cbc:TaxAmount", "the VAT category tax amount (BT-117)"
            ),
            exemption_reason=self._text(element, "cac:TaxCategory/cbc:TaxExemptionReason"),
            exemption_reason_code=self._text(element, "cac:TaxCategory/cbc:TaxExemptionReasonCode"),
        )

    def _totals(self, tax_total: Decimal | None) -> Totals:
        monetary_total = self.root.find("cac:LegalMonetaryTotal", NAMESPACES)
        if monetary_total is None:
            raise self._missing(self.root, "cac:LegalMonetaryTotal", "the document totals (BG-22)")
        zero = Decimal(0)
        line_extension = self._required_decimal(
            monetary_total, "cbc:LineExtensionAmount", "the sum of line net amounts (BT-106)"
        )
        tax_exclusive = self._required_decimal(
            monetary_total, "cbc:TaxExclusiveAmount", "the total without VAT (BT-109)"
        )
        tax_inclusive = self._required_decimal(
            monetary_total, "cbc:TaxInclusiveAmount", "the total with VAT (BT-112)"
        )
        payable = self._required_decimal(
            monetary_total, "cbc:PayableAmount", "the amount due for payment (BT-115)"
        )
        if tax_total is None:
            # The document has no TaxTotal at all, so it states no VAT, which is read as VAT 0.
            tax_total = zero
        return Totals(
            line_extension=line_extension,
            allowance_total=self._decimal(monetary_total, "cbc:AllowanceTotalAmount") or zero,
            charge_total=self._decimal(monetary_total, "cbc:ChargeTotalAmount") or zero,
            tax_exclusive=tax_exclusive,
            tax_total=tax_total,
            tax_inclusive=tax_inclusive,
            prepaid=self._decimal(monetary_total, "cbc:PrepaidAmount") or zero,
            rounding=self._decimal(monetary_total, "cbc:PayableRoundingAmount") or zero,
            payable=payable,
        )

    def _line(self, line: etree._Element) -> InvoiceLine:
        quantity = line.find(self.quantity_path, NAMESPACES)
        if quantity is None:
            raise self._missing(line, self.quantity_path, "the invoiced quantity (BT-129)")
        tax_category = self._line_tax_category(line)
        price = line.find("cac:Price", NAMESPACES)
        if price is None:
            raise self._missing(line, "cac:Price", "the item net price (BT-146)")
        base_quantity = self._decimal(price, "cbc:BaseQuantity")

        return InvoiceLine(
            line_id=self._required_text(line, "cbc:ID", "the line identifier (BT-126)"),
            description=self._text(line, "cac:Item/cbc:Name"),
            quantity=self._parse_decimal(quantity),
            unit_code=quantity.get("unitCode", "").strip(),
            unit_price=self._required_decimal(
                price, "cbc:PriceAmount", "the item net price (BT-146)"
            ),
            net_amount=self._required_decimal(
                line, "cbc:LineExtensionAmount", "the line net amount (BT-131)"
            ),
            price_base_quantity=base_quantity if base_quantity is not None else Decimal(1),
            tax_category=self._required_text(
                tax_category, "cbc:ID", "the invoiced item VAT category code (BT-151)"
            ),
            tax_rate=self._decimal(tax_category, "cbc:Percent"),
            exemption_reason=self._text(tax_category, "cbc:TaxExemptionReason"),
            item_id=self._text(line, "cac:Item/cac:SellersItemIdentification/cbc:ID"),
            gl_account=self._text(line, "cbc:AccountingCost"),
            service_start=self._date(line, "cac:InvoicePeriod/cbc:StartDate"),
            service_end=self._date(line, "cac:InvoicePeriod/cbc:EndDate"),
            allowances_charges=[
                self._allowance_charge(element)
                for element in line.findall("cac:AllowanceCharge", NAMESPACES)
            ],
            # BT-148, the gross price, is the base amount of the price discount.
            gross_price=self._decimal(price, "cac:AllowanceCharge/cbc:BaseAmount"),
        )

    def _line_tax_category(self, line: etree._Element) -> etree._Element:
        categories = line.findall("cac:Item/cac:ClassifiedTaxCategory", NAMESPACES)
        for category in categories:
            if self._text(category, "cac:TaxScheme/cbc:ID").upper() == "VAT":
                return category
        if categories:
            return categories[0]
        raise self._missing(
            line, "cac:Item/cac:ClassifiedTaxCategory", "the invoiced item VAT category (BG-30)"
        )

    # Values

    def _text(self, parent: etree._Element, path: str) -> str:
        element = parent.find(path, NAMESPACES)
        if element is None:
            return ""
        return (element.text or "").strip()

    def _required_text(self, parent: etree._Element, path: str, term: str) -> str:
        text = self._text(parent, path)
        if not text:
            raise self._missing(parent, path, term)
        return text

    def _currency(self, parent: etree._Element, path: str, *, required: bool) -> str:
        element = parent.find(path, NAMESPACES)
        code = "" if element is None else (element.text or "").strip()
        if not code:
            if required:
                raise self._missing(parent, path, "the invoice currency code (BT-5)")
            return ""
        if not is_currency(code):
            raise InvalidInput(
                f"{code!r} is not an ISO 4217 currency code.",
                place=self._place(element) if element is not None else self.source,
                value=code,
                fix="Use a three-letter code in capitals, such as EUR, USD or JPY.",
            )
        return code

    def _decimal(self, parent: etree._Element, path: str) -> Decimal | None:
        element = parent.find(path, NAMESPACES)
        if element is None:
            return None
        return self._parse_decimal(element)

    def _required_decimal(self, parent: etree._Element, path: str, term: str) -> Decimal:
        element = parent.find(path, NAMESPACES)
        if element is None:
            raise self._missing(parent, path, term)
        return self._parse_decimal(element)

    def _parse_decimal(self, element: etree._Element) -> Decimal:
        text = (element.text or "").strip()
        if not _XS_DECIMAL.fullmatch(text):
            raise InvalidInput(
                f"{text!r} is not a number.",
                place=self._place(element),
                value=text,
                fix="Write it with digits and a decimal point, without thousands separators "
                "or exponent, such as 1250.00.",
            )
        return Decimal(text)

    def _date(self, parent: etree._Element, path: str) -> dt.date | None:
        element = parent.find(path, NAMESPACES)
        if element is None:
            return None
        return self._parse_date(element)

    def _required_date(self, parent: etree._Element, path: str, term: str) -> dt.date:
        element = parent.find(path, NAMESPACES)
        if element is None:
            raise self._missing(parent, path, term)
        return self._parse_date(element)

    def _parse_date(self, element: etree._Element) -> dt.date:
        text = (element.text or "").strip()
        match = _XS_DATE.fullmatch(text)
        parsed = None
        if match:
            try:
                parsed = dt.date.fromisoformat(match.group(1))
            except ValueError:
                parsed = None
        if parsed is None:
            raise InvalidInput(
                f"{text!r} is not a date.",
                place=self._place(element),
                value=text,
                fix="Write a calendar date as YYYY-MM-DD, such as 2024-03-31.",
            )
        return parsed

    # Error helpers

    def _place(self, element: etree._Element) -> str:
        return f"{self.source}, {element_path(element)}"

    def _missing(self, parent: etree._Element, path: str, term: str) -> InvalidInput:
        return InvalidInput(
            f"{term[0].upper()}{term[1:]} is missing or empty.",
            place=f"{self._place(parent)}/{path}",
            fix=f"Add {path}; EN 16931 requires it.",
        )
