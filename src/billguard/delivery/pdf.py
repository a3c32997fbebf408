"""Render an issued invoice or credit note as a PDF with fpdf2, in its template's layout.

Text is set in Noto Sans (SIL Open Font License 1.1), a TrueType font that the PyPI package
fontpkg-noto-sans ships. It covers Latin, Greek, Cyrillic and Vietnamese. Text with a
character outside it (Chinese, Arabic) is rejected with an error that names the character
and the field, because fpdf2 would otherwise leave a blank where the glyph is missing.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.metadata
import os
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from fontpkg_noto_sans import ROOT as NOTO_SANS_ROOT
from fontTools.ttLib import TTFont
from fontTools.varLib import instancer
from fpdf import FPDF, FontFace

from billguard.domain.currencies import minor_units
from billguard.domain.errors import InvalidInput
from billguard.domain.invoice import DocumentType, InvoiceDocument, PartyInfo

FONT_FILE = NOTO_SANS_ROOT / "files" / "NotoSans[wdth,wght].ttf"
FONT_VERSION = importlib.metadata.version("fontpkg-noto-sans")
FONT = "NotoSans"
EN_DASH = "\u2013"
LIGHT_GREY = (242, 242, 242)
# Symbols of UN/ECE Recommendation 20 unit codes shown after a quantity. Other codes are shown
# as they are.
UNIT_SYMBOLS = {"C62": "", "H87": "", "HUR": "h", "DAY": "d", "MON": "mo", "ANN": "yr"}

# Labels per ISO 639-1 language. A template in another language gets the English labels.
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "number": "Number",
        "issue_date": "Issue date",
        "due_date": "Due date",
        "po": "Purchase order",
        "contract": "Contract",
        "period": "Service period",
        "bill_to": "Bill to",
        "tax_id": "Tax ID",
        "seller_tax_id": "VAT / Tax ID",
        "net_days": "Net {days} days",
        "credits": "Credits invoice",
        "line": "#",
        "description": "Description",
        "quantity": "Quantity",
        "unit_price": "Unit price",
        "discount": "Discount",
        "net": "Net amount",
        "tax_category": "Tax",
        "taxable": "Taxable amount",
        "tax": "Tax amount",
        "net_total": "Total net",
        "tax_total": "Total tax",
        "payable": "Amount due",
        "payment": "Payment",
        "terms": "Payment terms",
        "bank": "Bank account",
    },
    "de": {
        "number": "Nummer",
        "issue_date": "Rechnungsdatum",
        "due_date": "Fällig am",
        "po": "Bestellnummer",
        "contract": "Vertrag",
        "period": "Leistungszeitraum",
        "bill_to": "Rechnungsempfänger",
        "tax_id": "USt-IdNr.",
        "seller_tax_id": "USt-IdNr.",
        "net_days": "Zahlbar innerhalb von {days} Tagen",
        "credits": "Gutschrift zu Rechnung",
        "line": "Pos",
        "description": "Beschreibung",
        "quantity": "Menge",
        "unit_price": "Einzelpreis",
        "discount": "Rabatt",
        "net": "Nettobetrag",
        "tax_category": "Steuer",
        "taxable": "Bemessungsgrundlage",
        "tax": "Steuerbetrag",
        "net_total": "Summe netto",
        "tax_total": "Summe Steuer",
        "payable": "Zahlbetrag",
        "payment": "Zahlung",
        "terms": "Zahlungsbedingungen",
        "bank": "Bankverbindung",
    },
}


@dataclass(frozen=True)
class Layout:
    """The template texts a PDF is rendered with."""

    language: str = "en"
    title: str = "Invoice"
    credit_note_title: str = "Credit note"
    header_text: str = ""
    footer_text: str = ""
    payment_instructions: str = ""
    accent_color: str = "#1F4E79"


@dataclass(frozen=True)
class BankDetails:
    iban: str = ""
    bic: str = ""


def render_pdf(
    document: InvoiceDocument,
    layout: Layout,
    bank: BankDetails,
    payment_terms_days: int | None = None,
) -> bytes:
    """Return the PDF of an issued ``document``; its payment terms are ``payment_terms_days``.

    Raises InvalidInput when a text contains a character that the font cannot show.
    """
    _texts_check(document, layout)
    labels = LABELS.get(layout.language, LABELS["en"])
    pdf = _InvoicePdf(layout)
    pdf.set_title(f"{_title(document, layout)} {document.number}")
    pdf.set_author(document.seller.name)
    pdf.add_page()

    _header(pdf, document, layout, labels)
    _parties(pdf, document, labels)
    _references(pdf, document, labels)
    if layout.header_text:
        pdf.set_font(FONT, "", 9)
        pdf.multi_cell(0, 5, layout.header_text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    _lines(pdf, document, labels)
    _tax_and_totals(pdf, document, labels)
    _payment(pdf, document, layout, bank, labels, payment_terms_days)
    return bytes(pdf.output())


def format_amount(value: Decimal, currency: str, language: str = "en") -> str:
    """Format ``value`` with the ISO 4217 minor units of ``currency`` and thousands separators.

    English groups with commas and marks decimals with a point; German the other way round.
    """
    decimals = minor_units(currency)
    quantized = value.quantize(Decimal(1).scaleb(-decimals))
    text = f"{quantized:,.{decimals}f}"
    if language == "de":
        text = text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
    return f"{text} {currency}"


def format_number(value: Decimal, language: str = "en") -> str:
    """Format a quantity, price or percentage without trailing zeros (2.50 -> 2.5)."""
    normalized = value.normalize()
    integral = normalized == normalized.to_integral()
    text = f"{int(normalized):,}" if integral else f"{normalized:,f}"
    if language == "de":
        text = text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
    return text


def format_date(day: dt.date | None) -> str:
    return day.isoformat() if day is not None else ""


# Layout


class _InvoicePdf(FPDF):
    def __init__(self, layout: Layout) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.layout = layout
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(auto=True, margin=22)
        self.add_font(FONT, "", str(FONT_FILE))
        self.add_font(FONT, "B", str(bold_font_file()))
        self.accent = _rgb(layout.accent_color)

    def footer(self) -> None:
        self.set_y(-16)
        self.set_font(FONT, "", 7.5)
        self.set_text_color(90, 90, 90)
        text = self.layout.footer_text
        page = f"{self.page_no()}/{{nb}}"
        self.multi_cell(0, 3.5, f"{text}\n{page}" if text else page, align="C")
        self.set_text_color(0, 0, 0)


def _header(
    pdf: _InvoicePdf, document: InvoiceDocument, layout: Layout, labels: dict[str, str]
) -> None:
    pdf.set_fill_color(*pdf.accent)
    pdf.rect(0, 0, pdf.w, 6, style="F")
    pdf.set_fill_color(255, 255, 255)
    seller = document.seller
    pdf.set_font(FONT, "B", 12)
    pdf.cell(0, 6, seller.name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 8.5)
    for line in _address_lines(seller):
        pdf.cell(0, 4, line, new_x="LMARGIN", new_y="NEXT")
    if seller.tax_id:
        pdf.cell(0, 4, f"{labels['seller_tax_id']} {seller.tax_id}", new_x="LMARGIN", new_y="NEXT")
    if seller.registration_id:
        pdf.cell(0, 4, seller.registration_id, new_x="LMARGIN", new_y="NEXT")
    if seller.contact_email:
        pdf.cell(0, 4, seller.contact_email, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_text_color(*pdf.accent)
    pdf.set_font(FONT, "B", 18)
    pdf.cell(0, 9, _title(document, layout), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)


def _parties(pdf: _InvoicePdf, document: InvoiceDocument, labels: dict[str, str]) -> None:
    buyer = document.buyer
    top = pdf.get_y() + 2
    pdf.set_xy(pdf.l_margin, top)
    pdf.set_font(FONT, "B", 8)
    pdf.cell(90, 4, labels["bill_to"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", 10)
    pdf.multi_cell(90, 5, buyer.name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9)
    for line in _address_lines(buyer):
        pdf.cell(90, 4.5, line, new_x="LMARGIN", new_y="NEXT")
    if buyer.tax_id:
        pdf.cell(90, 4.5, f"{labels['tax_id']} {buyer.tax_id}", new_x="LMARGIN", new_y="NEXT")
    left_bottom = pdf.get_y()

    rows = [
        (labels["number"], document.number),
        (labels["issue_date"], format_date(document.issue_date)),
    ]
    if document.due_date and document.document_type is DocumentType.INVOICE:
        rows.append((labels["due_date"], format_date(document.due_date)))
    if document.preceding_invoice:
        rows.append((labels["credits"], document.preceding_invoice))
    pdf.set_xy(115, top)
    for label, value in rows:
        pdf.set_x(115)
        pdf.set_font(FONT, "", 8.5)
        pdf.cell(38, 5, label)
        pdf.set_font(FONT, "B", 9)
        pdf.cell(0, 5, value, new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(left_bottom, pdf.get_y()) + 4)


def _references(pdf: _InvoicePdf, document: InvoiceDocument, labels: dict[str, str]) -> None:
    rows = []
    if document.order_reference:
        rows.append((labels["po"], document.order_reference))
    if document.contract_reference:
        rows.append((labels["contract"], document.contract_reference))
    if document.period_start and document.period_end:
        period = (
            f"{format_date(document.period_start)} {EN_DASH} {format_date(document.period_end)}"
        )
        rows.append((labels["period"], period))
    pdf.set_font(FONT, "", 8.5)
    for label, value in rows:
        pdf.cell(38, 4.5, label)
        pdf.cell(0, 4.5, value, new_x="LMARGIN", new_y="NEXT")
    if rows:
        pdf.ln(3)


def _lines(pdf: _InvoicePdf, document: InvoiceDocument, labels: dict[str, str]) -> None:
    language = pdf.layout.language
    currency = document.currency
    pdf.set_font(FONT, "", 8.5)
    heading = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=pdf.accent)
    with pdf.table(
        col_widths=(10, 72, 18, 26, 16, 32),
        text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=heading,
        cell_fill_color=LIGHT_GREY,
        cell_fill_mode="ROWS",
        line_height=5,
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        table.row(
            [
                labels["line"],
                labels["description"],
                labels["quantity"],
                labels["unit_price"],
                labels["discount"],
                labels["net"],
            ]
        )
        for line in document.lines:
            description = line.description
            if line.service_start and line.service_end:
                description += (
                    f"\n{format_date(line.service_start)} {EN_DASH} {format_date(line.service_end)}"
                )
            discount = (
                f"{format_number(line.discount_percent, language)} %"
                if line.discount_percent
                else ""
            )
            table.row(
                [
                    line.line_id,
                    description,
                    f"{format_number(line.quantity, language)} "
                    f"{UNIT_SYMBOLS.get(line.unit_code, line.unit_code)}".strip(),
                    _price(line.unit_price, currency, language),
                    discount,
                    format_amount(line.net_amount, currency, language),
                ]
            )
    pdf.ln(3)


def _tax_and_totals(pdf: _InvoicePdf, document: InvoiceDocument, labels: dict[str, str]) -> None:
    language = pdf.layout.language
    currency = document.currency
    pdf.set_font(FONT, "", 8.5)
    with pdf.table(
        col_widths=(40, 40, 40),
        width=120,
        align="RIGHT",
        text_align=("LEFT", "RIGHT", "RIGHT"),
        headings_style=FontFace(emphasis="BOLD", fill_color=LIGHT_GREY),
        line_height=5,
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        table.row([labels["tax_category"], labels["taxable"], labels["tax"]])
        for subtotal in document.tax_subtotals:
            rate = (
                f" {format_number(subtotal.rate, language)} %" if subtotal.rate is not None else ""
            )
            category = f"{subtotal.category}{rate}"
            if subtotal.exemption_reason:
                category += f"\n{subtotal.exemption_reason}"
            table.row(
                [
                    category,
                    format_amount(subtotal.taxable_amount, currency, language),
                    format_amount(subtotal.tax_amount, currency, language),
                ]
            )
    pdf.ln(2)
    totals = document.totals
    for label, value, bold in (
        (labels["net_total"], totals.tax_exclusive, False),
        (labels["tax_total"], totals.tax_total, False),
        (labels["payable"], totals.payable, True),
    ):
        pdf.set_x(pdf.w - pdf.r_margin - 80)
        pdf.set_font(FONT, "B" if bold else "", 10 if bold else 9)
        pdf.cell(40, 6, label)
        pdf.cell(40, 6, format_amount(value, currency, language), align="R")
        pdf.ln(6)
    pdf.ln(3)


def _payment(
    pdf: _InvoicePdf,
    document: InvoiceDocument,
    layout: Layout,
    bank: BankDetails,
    labels: dict[str, str],
    payment_terms_days: int | None,
) -> None:
    pdf.set_font(FONT, "B", 9)
    pdf.cell(0, 5, labels["payment"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 8.5)
    terms = document.payment_terms
    if payment_terms_days is not None:
        terms = labels["net_days"].format(days=payment_terms_days)
    if terms:
        pdf.cell(0, 4.5, f"{labels['terms']}: {terms}", new_x="LMARGIN")
        pdf.ln(4.5)
    if bank.iban:
        account = f"IBAN {bank.iban}" + (f", BIC {bank.bic}" if bank.bic else "")
        pdf.cell(0, 4.5, f"{labels['bank']}: {account}", new_x="LMARGIN")
        pdf.ln(4.5)
    if layout.payment_instructions:
        pdf.multi_cell(0, 4.5, layout.payment_instructions, new_x="LMARGIN", new_y="NEXT")


# Helpers


def _title(document: InvoiceDocument, layout: Layout) -> str:
    if document.document_type is DocumentType.CREDIT_NOTE:
        return layout.credit_note_title
    return layout.title


def _address_lines(party: PartyInfo) -> list[str]:
    address = party.address
    lines = [address.street, address.additional_street]
    city = " ".join(part for part in (address.postcode, address.city) if part)
    lines.append(", ".join(part for part in (city, address.subdivision) if part))
    lines.append(address.country)
    return [line for line in lines if line]


def _price(value: Decimal, currency: str, language: str) -> str:
    """Format a unit price with at least the currency's decimals, more where it has them."""
    decimals = max(minor_units(currency), -int(value.normalize().as_tuple().exponent))
    text = f"{value:,.{decimals}f}"
    if language == "de":
        text = text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
    return text


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


@functools.lru_cache(maxsize=1)
def bold_font_file() -> Path:
    """Return the bold instance of the variable font, made once per machine and cached.

    Making the instance (weight 700 of the wght axis) takes seconds with fontTools, so it is
    written once into the system's temporary folder, named after the font package version.
    """
    folder = Path(tempfile.gettempdir()) / "billguard-fonts"
    path = folder / f"NotoSans-Bold-{FONT_VERSION}.ttf"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    font = TTFont(str(FONT_FILE))
    bold = instancer.instantiateVariableFont(font, {"wght": 700.0, "wdth": 100.0})
    # Written under a name of its own and renamed, so a process never reads a partial file.
    partial = folder / f"{path.name}.{os.getpid()}.part"
    bold.save(str(partial))
    partial.replace(path)
    return path


@functools.lru_cache(maxsize=1)
def _font_characters(path: Path = FONT_FILE) -> frozenset[int]:
    """Return the code points that the font has a glyph for."""
    font = TTFont(str(path), lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


def _texts_check(document: InvoiceDocument, layout: Layout) -> None:
    """Raise InvalidInput for the first character that the font cannot show, with its field."""
    fields: list[tuple[str, str]] = []
    for role, party in (("seller", document.seller), ("buyer", document.buyer)):
        address = party.address
        fields += [
            (f"{role} name", party.name),
            (f"{role} tax ID", party.tax_id),
            (f"{role} registration ID", party.registration_id),
            (f"{role} email", party.contact_email),
            (f"{role} street", address.street),
            (f"{role} street", address.additional_street),
            (f"{role} postcode", address.postcode),
            (f"{role} city", address.city),
            (f"{role} subdivision", address.subdivision),
        ]
    fields += [
        ("purchase order", document.order_reference),
        ("contract", document.contract_reference),
        ("credited invoice", document.preceding_invoice),
        ("template title", layout.title),
        ("template credit note title", layout.credit_note_title),
        ("template header text", layout.header_text),
        ("template footer text", layout.footer_text),
        ("template payment instructions", layout.payment_instructions),
    ]
    for line in document.lines:
        fields.append((f"line {line.line_id} description", line.description))
    for subtotal in document.tax_subtotals:
        fields.append(
            (f"tax category {subtotal.category} exemption reason", subtotal.exemption_reason)
        )
    known = _font_characters()
    for name, text in fields:
        for character in text:
            if ord(character) not in known and not character.isspace():
                raise InvalidInput(
                    f"the {name} {text!r} contains {character!r} (U+{ord(character):04X}), "
                    "which the invoice font Noto Sans cannot show.",
                    place=name,
                    value=text,
                    fix="Noto Sans covers Latin, Greek, Cyrillic and Vietnamese. Write the text "
                    "in one of these scripts (for example a transliterated name).",
                )
