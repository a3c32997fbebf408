"""UBL and findings exports: the UBL files read back, and every finding of a run is listed."""

import csv
import io
import zipfile
from decimal import Decimal

import pytest

from billguard.billing.models import BillingRunChunk, Invoice
from billguard.billing.run import billing_run_execute
from billguard.domain.errors import InvalidInput
from billguard.domain.invoice import DocumentType
from billguard.domain.periods import parse_period
from billguard.einvoice.ubl_reader import read_ubl
from billguard.exports.findings import FINDINGS_HEADER, findings_csv, findings_select
from billguard.exports.selection import issued_in_period
from billguard.exports.ubl import ubl_export_build, ubl_export_write
from tests.exports.helpers import break_price, issue_november
from tests.factories import make_contract

pytestmark = pytest.mark.django_db(transaction=True)


def test_ubl_export_round_trips_through_reader(tmp_path):
    invoices = issue_november()
    target = tmp_path / "november.zip"

    export = ubl_export_build(issued_in_period(parse_period("2026-11")))
    ubl_export_write(export, target)

    assert export.invoices == 3
    assert export.credit_notes == 1
    with zipfile.ZipFile(target) as archive:
        names = sorted(archive.namelist())
        documents = {name: read_ubl(archive.read(name), source=name) for name in archive.namelist()}
    assert names == [f"acme-de/{invoice.number}.xml" for invoice in invoices]
    for invoice in invoices:
        document = documents[f"acme-de/{invoice.number}.xml"]
        assert document.number == invoice.number
        assert document.totals.payable == invoice.payable
        assert document.totals.tax_total == invoice.tax_total
        assert len(document.lines) == invoice.lines.count()
        expected_type = (
            DocumentType.CREDIT_NOTE
            if invoice.document_type == Invoice.DocumentType.CREDIT_NOTE
            else DocumentType.INVOICE
        )
        assert document.document_type == expected_type
    credit_note = documents["acme-de/ADE-000004.xml"]
    assert credit_note.preceding_invoice == "ADE-000001"


def test_ubl_export_to_folder_leaves_no_temporary_file(tmp_path):
    issue_november()
    target = tmp_path / "ubl"

    ubl_export_write(ubl_export_build(issued_in_period(parse_period("2026-11"))), target)

    files = sorted(path.name for path in (target / "acme-de").iterdir())
    assert files == ["ADE-000001.xml", "ADE-000002.xml", "ADE-000003.xml", "ADE-000004.xml"]


def test_findings_csv_lists_every_finding_of_run():
    make_contract("C-1")
    make_contract("C-2", customer_code="CUST-2")
    break_price("C-2")

    billing_run_execute(period=parse_period("2026-11"))

    content, count = findings_csv(findings_select(period=parse_period("2026-11")))
    rows = list(csv.DictReader(io.StringIO(content)))
    assert list(rows[0]) == FINDINGS_HEADER
    outcomes = [o for chunk in BillingRunChunk.objects.all() for o in chunk.outcomes]
    expected = sorted(
        (o["contract_number"], f["code"], f["severity"]) for o in outcomes for f in o["findings"]
    )
    assert sorted((r["contract"], r["code"], r["severity"]) for r in rows) == expected
    assert count == len(rows)
    price = next(row for row in rows if row["code"] == "PRICE_MISMATCH")
    assert price["contract"] == "C-2"
    assert price["invoice_status"] == "held"
    assert price["customer_code"] == "CUST-2"
    assert price["expected"]
    assert price["actual"]
    # 100.00 billed over the contract price for one month; the sign is the stored one.
    assert abs(Decimal(price["amount_at_stake"])) == Decimal("100.00")
    assert price["currency"] == "EUR"


def test_findings_filter_by_status_and_code():
    make_contract("C-1")
    make_contract("C-2", customer_code="CUST-2")
    break_price("C-2")
    billing_run_execute(period=parse_period("2026-11"))

    held, held_count = findings_csv(findings_select(status="held", code="price_mismatch"))
    _, other_period = findings_csv(findings_select(period=parse_period("2026-10")))

    assert held_count == 1
    assert "PRICE_MISMATCH" in held
    assert other_period == 0


def test_findings_unknown_code_is_invalid():
    with pytest.raises(InvalidInput) as error:
        findings_select(code="NO_SUCH_CHECK")

    assert "NO_SUCH_CHECK" in str(error.value)
