"""Write an InvoiceDocument as a UBL 2.1 Invoice or CreditNote that conforms to EN 16931.

Elements follow the order of the UBL 2.1 schemas, and values are bound as in CEN/TS 16931-3-2.
The writer raises errors for what UBL cannot express and for the values without which the
document makes no sense: number, issue date, lines, party countries, amounts of at most two
decimals. The other EN 16931 business rules are left to ``billguard.einvoice.validation``, which
runs the official rules.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import cast

from lxml import etree

from billguard.domain.currencies import minor_units
from billguard.domain.errors import InvalidInput
from billguard.domain.invoice import (
    Address,
    AllowanceCharge,
    DocumentType,
    InvoiceDocument,
    InvoiceLine,
    PartyInfo,
    TaxSubtotal,
)
from billguard.einvoice.errors import UblNotSupported
from billguard.einvoice.tax_identifiers import is_vat_identifier
from billguard.einvoice.ubl_names import (
    CAC_NS,
    CBC_NS,
    CREDIT_NOTE_NS,
    EN16931_CUSTOMIZATION_ID,
    INVOICE_NS,
)

# UNTDID 4461 payment means: 30 is credit transfer, 1 is "instrument not defined", which a
# credit note uses when it only states a due date (BT-9 sits in PaymentMeans there).
CREDIT_TRANSFER = "30"
INSTRUMENT_NOT_DEFINED = "1"

# Standard exemption reasons (VATEX code list) for the VAT categories whose breakdown needs a
# reason code or text: BR-AE-10, BR-IC-10, BR-G-10 and BR-O-10. Category E (BR-E-10) has no
# single reason, so it must come from the document.
DEFAULT_EXEMPTIONS = {
    "AE": ("vatex-eu-ae", "Reverse charge"),
    "K": ("vatex-eu-ic", "Intra-Community supply"),
    "G": ("vatex-eu-g", "Export outside the EU"),
    "O": ("vatex-eu-o", "Not subject to VAT"),
}
# Categories whose rate must be 0 (BR-Z-05, BR-E-05, BR-AE-05, BR-IC-05, BR-G-05); category O
# must carry no rate at all (BR-O-05).
ZERO_RATE_CATEGORIES = frozenset({"Z", "E", "AE", "K", "G"})
NOT_SUBJECT_TO_VAT = "O"

# TaxScheme IDs of a party's PartyTaxScheme. The VAT identifier (BT-31, BT-48) has the scheme
# VAT, and the seller tax registration identifier (BT-32) any other scheme. TAX is the usual
# one, which Swedish invoices also use for their F-skatt entry.
VAT_SCHEME = "VAT"
TAX_REGISTRATION_SCHEME = "TAX"

# EN 16931 allows at most two decimals on amounts (BR-DEC-01 to BR-DEC-28).
MAX_AMOUNT_DECIMALS = 2
_CENT = Decimal("0.01")


def write_ubl(
    doc: InvoiceDocument, *, seller_bank_account: str = "", profile_id: str = ""
) -> bytes:
    """Serialize ``doc`` as UTF-8 UBL 2.1 XML with CustomizationID urn:cen.eu:en16931:2017.

    ``seller_bank_account`` is the IBAN or account number for a credit transfer (BT-84).
    ``profile_id`` is the business process type (BT-23), written only when given.
    Raises UblNotSupported for a currency with more than two decimals and InvalidInput when a
    value that UBL requires is missing or an amount has more than two decimals.
    """
    _check_currency(doc.currency)
    _check_required_values(doc)
    if doc.tax_currency and doc.tax_currency != doc.currency:
        # BR-53 then needs the VAT total in the tax currency (BT-111), which the model lacks.
        raise UblNotSupported(
            f"the VAT accounting currency {doc.tax_currency} differs from the invoice currency "
            f"{doc.currency}, and Billguard does not store the VAT total in "
            f"{doc.tax_currency} that EN 16931 then requires (BT-111, BR-53).",
            place="tax_currency",
            value=doc.tax_currency,
            fix="Issue the invoice in one currency, or send its PDF or JSON instead of UBL.",
        )
    return _UblWriter(doc, seller_bank_account, profile_id).to_bytes()


def _check_currency(currency: str) -> None:
    if minor_units(currency) > MAX_AMOUNT_DECIMALS:
        raise UblNotSupported(
            f"{currency} amounts have {minor_units(currency)} decimals, but EN 16931 permits "
            "at most two decimals for amounts, so this invoice cannot be written as UBL.",
            place="currency",
            value=currency,
            fix="Send this invoice as PDF or JSON instead of UBL.",
        )


def _check_required_values(doc: InvoiceDocument) -> None:
    if not doc.number:
        raise InvalidInput(
            "the document has no number, but UBL requires one (BT-1).",
            place="number",
            fix="Issue the draft first so that it gets its invoice number.",
        )
    if doc.issue_date is None:
        raise InvalidInput(
            "the document has no issue date, but UBL requires one (BT-2).",
            place="issue_date",
            fix="Issue the draft first so that it gets its issue date.",
        )
    if not doc.lines:
        raise InvalidInput(
            "the document has no lines, but EN 16931 requires at least one (BR-16).",
            place="lines",
            fix="Add a line before writing the invoice.",
        )


class _UblWriter:
    """Builder of the UBL tree of one document, which adds elements in schema order."""

    def __init__(self, doc: InvoiceDocument, seller_bank_account: str, profile_id: str) -> None:
        self.doc = doc
        self.seller_bank_account = seller_bank_account.strip()
        self.profile_id = profile_id
        self.is_credit_note = doc.document_type is DocumentType.CREDIT_NOTE

    def to_bytes(self) -> bytes:
        root = self._build()
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    def _build(self) -> etree._Element:
        doc = self.doc
        if self.is_credit_note:
            root_name, namespace = "CreditNote", CREDIT_NOTE_NS
        else:
            root_name, namespace = "Invoice", INVOICE_NS
        # lxml takes None as the key of the default namespace; lxml-stubs 0.5 types keys as str.
        nsmap = cast(dict[str, str], {None: namespace, "cac": CAC_NS, "cbc": CBC_NS})
        root = etree.Element(f"{{{namespace}}}{root_name}", nsmap=nsmap)

        self._header(root)
        self._references(root)
        self._party(_cac(root, "AccountingSupplierParty"), doc.seller, "seller")
        self._party(_cac(root, "AccountingCustomerParty"), doc.buyer, "buyer")
        self._payment_means(root)
        if doc.payment_terms:
            _cbc(_cac(root, "PaymentTerms"), "Note", doc.payment_terms)
        for index, allowance_charge in enumerate(doc.allowances_charges, start=1):
            self._allowance_charge(
                root, allowance_charge, f"allowances_charges[{index}]", document_level=True
            )
        self._tax_total(root)
        self._monetary_total(root)
        for index, line in enumerate(doc.lines, start=1):
            self._line(root, line, f"lines[{index}]")
        return root

    def _header(self, root: etree._Element) -> None:
        doc = self.doc
        # _check_required_values has rejected a document without an issue date.
        assert doc.issue_date is not None
        _cbc(root, "CustomizationID", EN16931_CUSTOMIZATION_ID)
        if self.profile_id:
            _cbc(root, "ProfileID", self.profile_id)
        _cbc(root, "ID", doc.number)
        _cbc(root, "IssueDate", doc.issue_date.isoformat())
        if self.is_credit_note:
            _cbc(root, "CreditNoteTypeCode", "381")
        else:
            if doc.due_date is not None:
                _cbc(root, "DueDate", doc.due_date.isoformat())
            _cbc(root, "InvoiceTypeCode", "380")
        for note in doc.notes:
            _cbc(root, "Note", note)
        _cbc(root, "DocumentCurrencyCode", doc.currency)
        if doc.tax_currency:
            _cbc(root, "TaxCurrencyCode", doc.tax_currency)
        if doc.buyer_reference:
            _cbc(root, "BuyerReference", doc.buyer_reference)

    def _references(self, root: etree._Element) -> None:
        doc = self.doc
        _period(root, doc.period_start, doc.period_end)
        if doc.order_reference:
            _cbc(_cac(root, "OrderReference"), "ID", doc.order_reference)
        if doc.preceding_invoice:
            reference = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
            _cbc(reference, "ID", doc.preceding_invoice)
        if doc.contract_reference:
            _cbc(_cac(root, "ContractDocumentReference"), "ID", doc.contract_reference)
        for supporting in doc.supporting_documents:
            reference = _cac(root, "AdditionalDocumentReference")
            _cbc(reference, "ID", supporting.identifier)
            if supporting.description:
                _cbc(reference, "DocumentDescription", supporting.description)

    # Parties and payment

    def _party(self, role: etree._Element, info: PartyInfo, field: str) -> None:
        """Add the Party of the seller (``field`` "seller") or the buyer ("buyer").

        A tax ID with a country prefix is the VAT identifier (BT-31, BT-48). BR-CO-09 rejects
        any other tax ID there, such as a US EIN. The seller's goes to its tax registration
        identifier (BT-32), which BR-S-02 and the other category rules 02 accept in place of
        BT-31. The buyer's becomes its legal registration identifier (BT-47), unless that is
        set already.
        """
        party = _cac(role, "Party")
        if info.identifier:
            _cbc(_cac(party, "PartyIdentification"), "ID", info.identifier)
        self._address(_cac(party, "PostalAddress"), info.address, f"{field}.address")
        tax_id = info.tax_id.strip()
        registration_id = info.registration_id
        if is_vat_identifier(tax_id):
            _party_tax_scheme(party, tax_id, VAT_SCHEME)
        elif tax_id and field == "seller":
            _party_tax_scheme(party, tax_id, TAX_REGISTRATION_SCHEME)
        elif tax_id and not registration_id:
            registration_id = tax_id
        elif tax_id:
            # EN 16931 has no buyer tax registration identifier, so this entry is outside its
            # model. UBL allows it, and no EN 16931 rule checks it.
            _party_tax_scheme(party, tax_id, TAX_REGISTRATION_SCHEME)
        legal_entity = _cac(party, "PartyLegalEntity")
        _cbc(legal_entity, "RegistrationName", info.name)
        if registration_id:
            _cbc(legal_entity, "CompanyID", registration_id)
        if info.contact_email:
            _cbc(_cac(party, "Contact"), "ElectronicMail", info.contact_email)

    def _address(self, element: etree._Element, address: Address, field: str) -> None:
        # BR-9 and BR-11: seller and buyer postal addresses need a country code.
        if not address.country:
            raise InvalidInput(
                "the country code is missing, but EN 16931 requires it (BR-9, BR-11).",
                place=f"{field}.country",
                fix="Add the ISO 3166-1 alpha-2 country code, such as DE or FR.",
            )
        for name, value in (
            ("StreetName", address.street),
            ("AdditionalStreetName", address.additional_street),
            ("CityName", address.city),
            ("PostalZone", address.postcode),
            ("CountrySubentity", address.subdivision),
        ):
            if value:
                _cbc(element, name, value)
        _cbc(_cac(element, "Country"), "IdentificationCode", address.country)

    def _payment_means(self, root: etree._Element) -> None:
        due_date_here = self.is_credit_note and self.doc.due_date is not None
        if not self.seller_bank_account and not due_date_here:
            return
        means = _cac(root, "PaymentMeans")
        code = CREDIT_TRANSFER if self.seller_bank_account else INSTRUMENT_NOT_DEFINED
        _cbc(means, "PaymentMeansCode", code)
        if due_date_here and self.doc.due_date is not None:
            _cbc(means, "PaymentDueDate", self.doc.due_date.isoformat())
        if self.seller_bank_account:
            _cbc(_cac(means, "PayeeFinancialAccount"), "ID", self.seller_bank_account)

    # Amounts

    def _allowance_charge(
        self,
        parent: etree._Element,
        allowance_charge: AllowanceCharge,
        field: str,
        *,
        document_level: bool,
    ) -> None:
        element = _cac(parent, "AllowanceCharge")
        _cbc(element, "ChargeIndicator", "true" if allowance_charge.is_charge else "false")
        if allowance_charge.reason_code:
            _cbc(element, "AllowanceChargeReasonCode", allowance_charge.reason_code)
        if allowance_charge.reason:
            _cbc(element, "AllowanceChargeReason", allowance_charge.reason)
        if allowance_charge.percent is not None:
            _cbc(element, "MultiplierFactorNumeric", _number(allowance_charge.percent))
        self._amount(element, "Amount", allowance_charge.amount, f"{field}.amount")
        if allowance_charge.base_amount is not None:
            self._amount(
                element, "BaseAmount", allowance_charge.base_amount, f"{field}.base_amount"
            )
        if document_level:
            # BR-32 and BR-37: a document-level allowance or charge has a VAT category.
            _tax_category(
                element, "TaxCategory", allowance_charge.tax_category, allowance_charge.tax_rate
            )

    def _tax_total(self, root: etree._Element) -> None:
        tax_total = _cac(root, "TaxTotal")
        self._amount(tax_total, "TaxAmount", self.doc.totals.tax_total, "totals.tax_total")
        for index, subtotal in enumerate(self.doc.tax_subtotals, start=1):
            field = f"tax_subtotals[{index}]"
            element = _cac(tax_total, "TaxSubtotal")
            self._amount(
                element, "TaxableAmount", subtotal.taxable_amount, f"{field}.taxable_amount"
            )
            self._amount(element, "TaxAmount", subtotal.tax_amount, f"{field}.tax_amount")
            code, reason = self._exemption(subtotal)
            _tax_category(
                element,
                "TaxCategory",
                subtotal.category,
                subtotal.rate,
                exemption_code=code,
                exemption_reason=reason,
            )

    def _exemption(self, subtotal: TaxSubtotal) -> tuple[str, str]:
        """Return the exemption reason code and text (BT-121, BT-120) of a VAT breakdown.

        The breakdown's own values come first, then the reason written on a line of the same
        category, then the standard reason of the category.
        """
        if subtotal.exemption_reason or subtotal.exemption_reason_code:
            return subtotal.exemption_reason_code, subtotal.exemption_reason
        for line in self.doc.lines:
            if line.tax_category == subtotal.category and line.exemption_reason:
                return "", line.exemption_reason
        return DEFAULT_EXEMPTIONS.get(subtotal.category, ("", ""))

    def _monetary_total(self, root: etree._Element) -> None:
        totals = self.doc.totals
        element = _cac(root, "LegalMonetaryTotal")
        has_allowances = any(not a.is_charge for a in self.doc.allowances_charges)
        has_charges = any(a.is_charge for a in self.doc.allowances_charges)
        self._amount(element, "LineExtensionAmount", totals.line_extension, "totals.line_extension")
        self._amount(element, "TaxExclusiveAmount", totals.tax_exclusive, "totals.tax_exclusive")
        self._amount(element, "TaxInclusiveAmount", totals.tax_inclusive, "totals.tax_inclusive")
        if has_allowances or totals.allowance_total:
            self._amount(
                element, "AllowanceTotalAmount", totals.allowance_total, "totals.allowance_total"
            )
        if has_charges or totals.charge_total:
            self._amount(element, "ChargeTotalAmount", totals.charge_total, "totals.charge_total")
        if totals.prepaid:
            self._amount(element, "PrepaidAmount", totals.prepaid, "totals.prepaid")
        if totals.rounding:
            self._amount(element, "PayableRoundingAmount", totals.rounding, "totals.rounding")
        self._amount(element, "PayableAmount", totals.payable, "totals.payable")

    def _amount(self, parent: etree._Element, name: str, value: Decimal, field: str) -> None:
        _cbc(parent, name, _amount_text(value, field), currencyID=self.doc.currency)

    # Lines

    def _line(self, root: etree._Element, line: InvoiceLine, field: str) -> None:
        if self.is_credit_note:
            element = _cac(root, "CreditNoteLine")
            quantity_name = "CreditedQuantity"
        else:
            element = _cac(root, "InvoiceLine")
            quantity_name = "InvoicedQuantity"
        _cbc(element, "ID", line.line_id)
        quantity_attributes = {"unitCode": line.unit_code} if line.unit_code else {}
        _cbc(element, quantity_name, _number(line.quantity), **quantity_attributes)
        self._amount(element, "LineExtensionAmount", line.net_amount, f"{field}.net_amount")
        if line.gl_account:
            _cbc(element, "AccountingCost", line.gl_account)
        _period(element, line.service_start, line.service_end)
        for index, allowance_charge in enumerate(line.allowances_charges, start=1):
            self._allowance_charge(
                element,
                allowance_charge,
                f"{field}.allowances_charges[{index}]",
                document_level=False,
            )

        item = _cac(element, "Item")
        _cbc(item, "Name", line.description)
        if line.item_id:
            _cbc(_cac(item, "SellersItemIdentification"), "ID", line.item_id)
        _tax_category(item, "ClassifiedTaxCategory", line.tax_category, line.tax_rate)

        price = _cac(element, "Price")
        # BT-146 is a unit price, not an amount, so BR-DEC does not limit its decimals.
        _cbc(price, "PriceAmount", _number(line.unit_price), currencyID=self.doc.currency)
        if line.price_base_quantity != 1:
            base_attributes = {"unitCode": line.unit_code} if line.unit_code else {}
            _cbc(price, "BaseQuantity", _number(line.price_base_quantity), **base_attributes)
        if line.gross_price is not None:
            # BT-147, the price discount, is gross price minus net price (BT-148 - BT-146).
            discount = _cac(price, "AllowanceCharge")
            _cbc(discount, "ChargeIndicator", "false")
            _cbc(
                discount,
                "Amount",
                _number(line.gross_price - line.unit_price),
                currencyID=self.doc.currency,
            )
            _cbc(discount, "BaseAmount", _number(line.gross_price), currencyID=self.doc.currency)


def _party_tax_scheme(party: etree._Element, company_id: str, scheme: str) -> None:
    element = _cac(party, "PartyTaxScheme")
    _cbc(element, "CompanyID", company_id)
    _cbc(_cac(element, "TaxScheme"), "ID", scheme)


def _tax_category(
    parent: etree._Element,
    name: str,
    category: str,
    rate: Decimal | None,
    *,
    exemption_code: str = "",
    exemption_reason: str = "",
) -> None:
    element = _cac(parent, name)
    _cbc(element, "ID", category)
    if category != NOT_SUBJECT_TO_VAT:
        if rate is None and category in ZERO_RATE_CATEGORIES:
            rate = Decimal(0)
        if rate is not None:
            _cbc(element, "Percent", _number(rate))
    if exemption_code:
        _cbc(element, "TaxExemptionReasonCode", exemption_code)
    if exemption_reason:
        _cbc(element, "TaxExemptionReason", exemption_reason)
    _cbc(_cac(element, "TaxScheme"), "ID", VAT_SCHEME)


def _period(parent: etree._Element, start: dt.date | None, end: dt.date | None) -> None:
    if start is None and end is None:
        return
    period = _cac(parent, "InvoicePeriod")
    if start is not None:
        _cbc(period, "StartDate", start.isoformat())
    if end is not None:
        _cbc(period, "EndDate", end.isoformat())


def _amount_text(value: Decimal, field: str) -> str:
    """Format an amount without exponent; raise InvalidInput beyond two decimals (BR-DEC)."""
    rounded = value.quantize(_CENT)
    if rounded != value:
        raise InvalidInput(
            f"{value} has more than two decimals, but EN 16931 permits at most two on amounts.",
            place=field,
            value=value,
            fix="Round the amount to the currency's minor unit before writing UBL.",
        )
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_AMOUNT_DECIMALS:
        # 12.500 equals 12.50 but would show three decimals.
        value = rounded
    return _number(value)


def _number(value: Decimal) -> str:
    """Format a Decimal in plain notation, as xs:decimal requires (1E+2 becomes 100)."""
    return format(value, "f")


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC_NS}}}{name}")


def _cbc(parent: etree._Element, name: str, text: str, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CBC_NS}}}{name}", attributes)
    element.text = text
    return element
