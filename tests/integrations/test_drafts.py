"""Draft invoices from CSV and JSON files, and read_drafts choosing the reader."""

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from billguard.domain.errors import InvalidInput
from billguard.domain.invoice import DocumentType
from billguard.einvoice.errors import UnreadableDocument
from billguard.einvoice.ubl_writer import write_ubl
from billguard.einvoice.validation import validate_ubl
from billguard.integrations.drafts import read_drafts, read_drafts_csv, read_drafts_json

HEADER = (
    "invoice_ref,currency,issue_date,seller_name,seller_tax_id,buyer_name,buyer_tax_id,"
    "buyer_country,customer_po,contract_ref,period_start,period_end,line_id,item_id,"
    "description,quantity,unit_code,unit_price,net_amount,tax_category,tax_rate,"
    "exemption_reason,gl_account"
)
GOOD_CSV = "\n".join(
    [
        HEADER,
        "INV-1,EUR,2024-03-31,Acme GmbH,DE123456789,Beta SARL,FR12345678901,FR,PO-1,C-1,"
        "2024-03-01,2024-03-31,,SUP,Support plan,1,,1200.00,,S,19,,4000",
        "INV-2,JPY,2024-03-31,Acme GmbH,DE123456789,Gamma KK,,JP,,,,,,LIC,Licence,3,,12000,,S,10,,",
        "INV-1,,,,,,,,,,2024-03-15,2024-04-14,7,USR,Extra user,3,C62,0.335,,S,19,,4010",
        "INV-1,,,,,,,,,,,,,,Training,2,HUR,250.00,500.00,E,,Exempt under Article 132(1)(i),4020",
    ]
)
# The minimum: the required columns only.
MINIMAL_HEADER = (
    "invoice_ref,currency,seller_name,buyer_name,description,quantity,unit_price,tax_category,"
    "tax_rate"
)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def csv_error(tmp_path: Path, *rows: str, header: str = MINIMAL_HEADER) -> InvalidInput:
    path = write(tmp_path, "drafts.csv", "\n".join([header, *rows]))
    with pytest.raises(InvalidInput) as caught:
        read_drafts(path)
    return caught.value


# CSV, good input


def test_csv_groups_rows_by_invoice_ref(tmp_path: Path) -> None:
    docs = read_drafts(write(tmp_path, "drafts.csv", GOOD_CSV))

    assert [doc.number for doc in docs] == ["INV-1", "INV-2"]
    assert [len(doc.lines) for doc in docs] == [3, 1]
    assert all(doc.document_type is DocumentType.INVOICE for doc in docs)
    assert all(doc.source == "drafts.csv" for doc in docs)


def test_csv_document_fields(tmp_path: Path) -> None:
    doc = read_drafts(write(tmp_path, "drafts.csv", GOOD_CSV))[0]

    assert doc.currency == "EUR"
    assert doc.issue_date == dt.date(2024, 3, 31)
    assert doc.seller.name == "Acme GmbH"
    assert doc.seller.tax_id == "DE123456789"
    assert doc.buyer.tax_id == "FR12345678901"
    assert doc.buyer.address.country == "FR"
    assert doc.order_reference == "PO-1"
    assert doc.contract_reference == "C-1"
    # The invoice period spans the line periods.
    assert (doc.period_start, doc.period_end) == (dt.date(2024, 3, 1), dt.date(2024, 4, 14))


def test_csv_line_fields(tmp_path: Path) -> None:
    first, second, third = read_drafts(write(tmp_path, "drafts.csv", GOOD_CSV))[0].lines

    assert first.line_id == "1"  # position when line_id is empty
    assert first.unit_code == "C62"  # default unit
    assert first.item_id == "SUP"
    assert first.gl_account == "4000"
    assert (first.service_start, first.service_end) == (dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    assert second.line_id == "7"
    assert third.unit_code == "HUR"
    assert third.tax_category == "E"
    assert third.tax_rate == Decimal(0)
    assert third.exemption_reason == "Exempt under Article 132(1)(i)"


def test_csv_net_amount_rounds_half_up(tmp_path: Path) -> None:
    lines = read_drafts(write(tmp_path, "drafts.csv", GOOD_CSV))[0].lines

    # 3 x 0.335 = 1.005, which HALF_UP rounds to 1.01 (HALF_EVEN would give 1.00).
    assert lines[1].net_amount == Decimal("1.01")
    assert lines[2].net_amount == Decimal("500.00")


def test_csv_totals_and_vat_breakdown(tmp_path: Path) -> None:
    doc = read_drafts(write(tmp_path, "drafts.csv", GOOD_CSV))[0]

    assert [(s.category, s.rate, s.taxable_amount, s.tax_amount) for s in doc.tax_subtotals] == [
        ("S", Decimal("19"), Decimal("1201.01"), Decimal("228.19")),
        ("E", Decimal("0"), Decimal("500.00"), Decimal("0.00")),
    ]
    assert doc.tax_subtotals[1].exemption_reason == "Exempt under Article 132(1)(i)"
    assert doc.totals.line_extension == Decimal("1701.01")
    assert doc.totals.tax_exclusive == Decimal("1701.01")
    assert doc.totals.tax_total == Decimal("228.19")
    assert doc.totals.tax_inclusive == Decimal("1929.20")
    assert doc.totals.payable == Decimal("1929.20")


def test_csv_zero_decimal_currency(tmp_path: Path) -> None:
    doc = read_drafts(write(tmp_path, "drafts.csv", GOOD_CSV))[1]

    assert doc.currency == "JPY"
    assert doc.totals.tax_total == Decimal("3600")
    assert doc.totals.payable == Decimal("39600")


def test_csv_vat_rounded_per_rate(tmp_path: Path) -> None:
    # Each line's VAT, 0.03 x 5 % = 0.0015, would round to 0.00; VAT on the category's
    # taxable amount, 0.30 x 5 % = 0.015, rounds HALF_UP to 0.02.
    rows = [f"INV-9,EUR,Acme,Beta,Item {n},1,0.03,S,5" for n in range(10)]
    path = write(tmp_path, "drafts.csv", "\n".join([MINIMAL_HEADER, *rows]))

    doc = read_drafts(path)[0]

    assert doc.tax_subtotals[0].taxable_amount == Decimal("0.30")
    assert doc.tax_subtotals[0].tax_amount == Decimal("0.02")


def test_csv_semicolons_and_bom(tmp_path: Path) -> None:
    content = "\ufeff" + "\n".join(
        [MINIMAL_HEADER.replace(",", ";"), "INV-1;EUR;Acme;Beta;Support;1;100.00;S;19"]
    )

    doc = read_drafts(write(tmp_path, "drafts.csv", content))[0]

    assert doc.number == "INV-1"
    assert doc.totals.payable == Decimal("119.00")


def test_csv_blank_rows_skipped(tmp_path: Path) -> None:
    content = "\n".join([MINIMAL_HEADER, "", "INV-1,EUR,Acme,Beta,Support,1,100.00,S,19", ",,,"])

    assert len(read_drafts(write(tmp_path, "drafts.csv", content))[0].lines) == 1


def test_csv_quoted_separator(tmp_path: Path) -> None:
    content = "\n".join([MINIMAL_HEADER, 'INV-1,EUR,"Acme, Inc.",Beta,"Support, March",1,100,S,19'])

    doc = read_drafts(write(tmp_path, "drafts.csv", content))[0]

    assert doc.seller.name == "Acme, Inc."
    assert doc.lines[0].description == "Support, March"


def test_csv_not_subject_to_vat(tmp_path: Path) -> None:
    content = "\n".join([MINIMAL_HEADER, "INV-1,EUR,Acme,Beta,Membership fee,1,80.00,O,"])

    doc = read_drafts(write(tmp_path, "drafts.csv", content))[0]

    assert doc.lines[0].tax_rate is None
    assert doc.tax_subtotals[0].tax_amount == Decimal("0.00")
    assert doc.totals.payable == Decimal("80.00")


def test_csv_draft_writes_valid_ubl(tmp_path: Path) -> None:
    # The CSV format has no seller address; the billing run adds it before issuing.
    doc = read_drafts(write(tmp_path, "drafts.csv", GOOD_CSV))[0]
    doc.seller.address.country = "DE"

    messages = validate_ubl(write_ubl(doc))

    assert [m for m in messages if m.is_fatal] == []


# CSV, bad input


def test_csv_decimal_comma_rejected(tmp_path: Path) -> None:
    error = csv_error(
        tmp_path,
        "INV-1,EUR,Acme,Beta,Support,1,100.00,S,19",
        'INV-1,EUR,Acme,Beta,Extra,1,"12,50",S,19',
    )

    assert error.place == "drafts.csv, row 3, column unit_price"
    assert error.value == "12,50"
    assert error.message == "'12,50' is not a number."
    assert error.fix == "Write it with a decimal point and no thousands separator, such as 12.50."


def test_csv_error_text_names_everything(tmp_path: Path) -> None:
    error = csv_error(tmp_path, 'INV-1,EUR,Acme,Beta,Extra,1,"12,50",S,19')

    assert str(error).startswith("drafts.csv, row 2, column unit_price: '12,50' is not a number.")


def test_csv_bad_date_rejected(tmp_path: Path) -> None:
    error = csv_error(
        tmp_path,
        "INV-1,EUR,31.03.2024,Acme,Beta,Support,1,100,S,19",
        header="invoice_ref,currency,issue_date,seller_name,buyer_name,description,quantity,"
        "unit_price,tax_category,tax_rate",
    )

    assert error.place == "drafts.csv, row 2, column issue_date"
    assert "YYYY-MM-DD" in (error.fix or "")


def test_csv_unknown_currency_rejected(tmp_path: Path) -> None:
    error = csv_error(tmp_path, "INV-1,EURO,Acme,Beta,Support,1,100,S,19")

    assert error.place == "drafts.csv, row 2, column currency"
    assert error.value == "EURO"


def test_csv_conflicting_currency_rejected(tmp_path: Path) -> None:
    error = csv_error(
        tmp_path,
        "INV-1,EUR,Acme,Beta,Support,1,100,S,19",
        "INV-1,USD,Acme,Beta,Extra,1,10,S,19",
    )

    assert error.place == "drafts.csv, row 3, column currency"
    assert "differs from 'EUR' in drafts.csv, row 2" in error.message


def test_csv_unknown_column_rejected(tmp_path: Path) -> None:
    error = csv_error(
        tmp_path, "INV-1,EUR,Acme,Beta,Support,1,100,S,19,x", header=MINIMAL_HEADER + ",unit_prize"
    )

    assert error.place == "drafts.csv, row 1"
    assert "'unit_prize' is not a draft column" in error.message


def test_csv_missing_required_column(tmp_path: Path) -> None:
    error = csv_error(
        tmp_path,
        "INV-1,EUR,Acme,Beta,Support,1,S,19",
        header=MINIMAL_HEADER.replace(",unit_price", ""),
    )

    assert "unit_price" in error.message
    assert error.place == "drafts.csv, row 1"


def test_csv_duplicate_column_rejected(tmp_path: Path) -> None:
    error = csv_error(
        tmp_path, "INV-1,EUR,Acme,Beta,Support,1,100,S,19,1", header=MINIMAL_HEADER + ",quantity"
    )

    assert "more than once" in error.message


def test_csv_too_many_values_rejected(tmp_path: Path) -> None:
    error = csv_error(tmp_path, "INV-1,EUR,Acme,Beta,Support,1,1,000.00,S,19")

    assert error.place == "drafts.csv, row 2"
    assert "10 values" in error.message


@pytest.mark.parametrize(
    ("row", "column", "text"),
    [
        ("INV-1,EUR,Acme,Beta,Support,1,100,S,", "tax_rate", "needs a rate"),
        ("INV-1,EUR,Acme,Beta,Support,1,100,S,0", "tax_rate", "not a valid rate"),
        ("INV-1,EUR,Acme,Beta,Support,1,100,O,0", "tax_rate", "BR-O-05"),
        ("INV-1,EUR,Acme,Beta,Support,1,100,Z,7", "tax_rate", "has the rate 0"),
        ("INV-1,EUR,Acme,Beta,Support,1,100,X,19", "tax_category", "not a VAT category"),
        ("INV-1,EUR,Acme,Beta,Support,1,100,E,0", "exemption_reason", "BR-E-10"),
        ("INV-1,EUR,Acme,Beta,Support,1,-100,S,19", "unit_price", "BR-27"),
        ("INV-1,EUR,Acme,Beta,Support,,100,S,19", "quantity", "is missing"),
        ("INV-1,EUR,,Beta,Support,1,100,S,19", "seller_name", "is missing"),
        (",EUR,Acme,Beta,Support,1,100,S,19", "invoice_ref", "is missing"),
    ],
)
def test_csv_vat_and_required_values(tmp_path: Path, row: str, column: str, text: str) -> None:
    error = csv_error(tmp_path, row)

    assert error.place == f"drafts.csv, row 2, column {column}"
    assert text in error.message


def test_csv_exemption_reason_on_standard_rate(tmp_path: Path) -> None:
    error = csv_error(
        tmp_path,
        "INV-1,EUR,Acme,Beta,Support,1,100,S,19,Exempt",
        header=MINIMAL_HEADER + ",exemption_reason",
    )

    assert error.place == "drafts.csv, row 2, column exemption_reason"
    assert "BR-S-10" in error.message


def test_csv_net_amount_decimals_rejected(tmp_path: Path) -> None:
    error = csv_error(
        tmp_path,
        "INV-1,EUR,Acme,Beta,Support,1,100,100.005,S,19",
        header=MINIMAL_HEADER.replace("unit_price", "unit_price,net_amount"),
    )

    assert error.place == "drafts.csv, row 2, column net_amount"
    assert "more decimals than EUR" in error.message


def test_csv_period_end_before_start(tmp_path: Path) -> None:
    error = csv_error(
        tmp_path,
        "INV-1,EUR,Acme,Beta,Support,1,100,S,19,2024-03-31,2024-03-01",
        header=MINIMAL_HEADER + ",period_start,period_end",
    )

    assert error.place == "drafts.csv, row 2, column period_end"


def test_csv_bad_country_rejected(tmp_path: Path) -> None:
    error = csv_error(
        tmp_path,
        "INV-1,EUR,Acme,Beta,Support,1,100,S,19,France",
        header=MINIMAL_HEADER + ",buyer_country",
    )

    assert error.place == "drafts.csv, row 2, column buyer_country"


def test_csv_empty_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_drafts_csv(b"", source="drafts.csv")

    assert "empty" in caught.value.message


def test_csv_header_only_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_drafts_csv(MINIMAL_HEADER.encode(), source="drafts.csv")

    assert "no rows" in caught.value.message


def test_csv_not_utf8_rejected() -> None:
    content = (MINIMAL_HEADER + "\nINV-1,EUR,Société,Beta,Support,1,100,S,19").encode("latin-1")

    with pytest.raises(UnreadableDocument) as caught:
        read_drafts_csv(content, source="drafts.csv")

    assert "UTF-8" in caught.value.message


# JSON


GOOD_JSON = {
    "invoice_ref": "INV-10",
    "currency": "EUR",
    "issue_date": "2024-03-31",
    "seller_name": "Acme GmbH",
    "buyer_name": "Beta SARL",
    "buyer_country": "FR",
    "period_start": "2024-03-01",
    "period_end": "2024-03-31",
    "lines": [
        {
            "description": "Support plan",
            "quantity": 3,
            "unit_price": 0.1,
            "tax_category": "S",
            "tax_rate": 20,
        },
        {
            "line_id": "L2",
            "description": "Setup",
            "quantity": "1",
            "unit_price": "99.90",
            "net_amount": "99.90",
            "tax_category": "S",
            "tax_rate": "20",
            "gl_account": 4000,
            "period_start": None,
        },
    ],
}


def test_json_object(tmp_path: Path) -> None:
    docs = read_drafts(write(tmp_path, "drafts.json", json.dumps(GOOD_JSON)))

    assert len(docs) == 1
    doc = docs[0]
    assert doc.number == "INV-10"
    assert (doc.period_start, doc.period_end) == (dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    # 3 x 0.1 is exactly 0.30 because JSON numbers are read as Decimal, not float.
    assert doc.lines[0].net_amount == Decimal("0.30")
    assert doc.lines[1].line_id == "L2"
    assert doc.lines[1].gl_account == "4000"
    assert doc.totals.line_extension == Decimal("100.20")
    assert doc.totals.tax_total == Decimal("20.04")
    assert doc.totals.payable == Decimal("120.24")


def test_json_list(tmp_path: Path) -> None:
    second = dict(GOOD_JSON, invoice_ref="INV-11")

    docs = read_drafts(write(tmp_path, "drafts.json", json.dumps([GOOD_JSON, second])))

    assert [doc.number for doc in docs] == ["INV-10", "INV-11"]


def test_json_bad_number_names_line(tmp_path: Path) -> None:
    bad = json.loads(json.dumps(GOOD_JSON))
    bad["lines"][1]["unit_price"] = "99,90"

    with pytest.raises(InvalidInput) as caught:
        read_drafts(write(tmp_path, "drafts.json", json.dumps([GOOD_JSON, bad])))

    assert caught.value.place == "drafts.json, invoice 2, line 2, field unit_price"
    assert caught.value.value == "99,90"


def test_json_unknown_field_rejected(tmp_path: Path) -> None:
    bad = dict(GOOD_JSON, buyer_vat="FR1")

    with pytest.raises(InvalidInput) as caught:
        read_drafts(write(tmp_path, "drafts.json", json.dumps(bad)))

    assert caught.value.place == "drafts.json, invoice 1"
    assert "'buyer_vat' is not a draft field" in caught.value.message


def test_json_missing_lines_rejected(tmp_path: Path) -> None:
    bad = {key: value for key, value in GOOD_JSON.items() if key != "lines"}

    with pytest.raises(InvalidInput) as caught:
        read_drafts(write(tmp_path, "drafts.json", json.dumps(bad)))

    assert caught.value.place == "drafts.json, invoice 1, field lines"


def test_json_boolean_value_rejected(tmp_path: Path) -> None:
    bad = json.loads(json.dumps(GOOD_JSON))
    bad["lines"][0]["quantity"] = True

    with pytest.raises(InvalidInput) as caught:
        read_drafts(write(tmp_path, "drafts.json", json.dumps(bad)))

    assert caught.value.place == "drafts.json, invoice 1, line 1, field quantity"


def test_json_nan_rejected(tmp_path: Path) -> None:
    text = json.dumps(GOOD_JSON).replace('"unit_price": 0.1', '"unit_price": NaN')

    with pytest.raises(InvalidInput) as caught:
        read_drafts(write(tmp_path, "drafts.json", text))

    assert "NaN" in caught.value.message


def test_json_syntax_error_names_line(tmp_path: Path) -> None:
    with pytest.raises(UnreadableDocument) as caught:
        read_drafts(write(tmp_path, "drafts.json", '{\n  "invoice_ref": "INV-1",\n}'))

    assert caught.value.place == "drafts.json, line 3, column 1"


def test_json_line_not_object_rejected(tmp_path: Path) -> None:
    bad = dict(GOOD_JSON, lines=["Support plan"])

    with pytest.raises(InvalidInput) as caught:
        read_drafts_json(json.dumps(bad).encode(), source="drafts.json")

    assert caught.value.place == "drafts.json, invoice 1, line 1"


# read_drafts choosing the reader


def test_xml_read_as_ubl(einvoice_examples: Path) -> None:
    docs = read_drafts(einvoice_examples / "en16931-examples" / "ubl-tc434-example1.xml")

    assert len(docs) == 1
    assert docs[0].number == "12115118"
    assert docs[0].source == "ubl-tc434-example1.xml"


def test_content_chooses_without_extension(tmp_path: Path, einvoice_examples: Path) -> None:
    ubl = (
        einvoice_examples / "en16931-testfiles" / "Invoice-Min_content_with_VAT.xml"
    ).read_bytes()

    assert read_drafts(write(tmp_path, "invoice.txt", ubl))[0].number == "2018-112"
    assert read_drafts(write(tmp_path, "drafts.txt", json.dumps(GOOD_JSON)))[0].number == "INV-10"
    assert read_drafts(write(tmp_path, "drafts.dat", GOOD_CSV))[0].number == "INV-1"


def test_unknown_format_rejected(tmp_path: Path) -> None:
    with pytest.raises(UnreadableDocument) as caught:
        read_drafts(write(tmp_path, "invoice.pdf", b"%PDF-1.7\n"))

    assert caught.value.code == "UNREADABLE_DOCUMENT"
    assert caught.value.place == "invoice.pdf"


def test_missing_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(UnreadableDocument) as caught:
        read_drafts(tmp_path / "absent.csv")

    assert caught.value.place == "absent.csv"


def test_xml_extension_with_csv_content(tmp_path: Path) -> None:
    with pytest.raises(UnreadableDocument) as caught:
        read_drafts(write(tmp_path, "drafts.xml", GOOD_CSV))

    assert "not well-formed XML" in caught.value.message
