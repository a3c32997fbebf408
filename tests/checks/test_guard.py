import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from billguard.billing.credit import credit_note_issue, invoice_by_number
from billguard.billing.run import billing_run_execute
from billguard.checks.guard import check_documents, resolve
from billguard.cli.main import main
from billguard.domain.periods import parse_period
from billguard.domain.tax import build_document_totals
from billguard.einvoice.ubl_writer import write_ubl
from tests.factories import draft_for, make_contract

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 11, 1)


def external_draft(number: str = "EXT-1", **changes: object):
    setup = make_contract()
    document = draft_for(setup.contract, "2026-11").document
    document.number = number
    document.source = f"{number}.xml"
    for name, value in changes.items():
        setattr(document, name, value)
    return setup, document


def test_guard_clean_draft_by_reference():
    setup, document = external_draft()

    [result] = check_documents([document], as_of=AS_OF)

    assert result.contract_number == setup.contract.number
    assert result.findings == []


def test_guard_resolves_by_tax_id_and_po():
    setup, document = external_draft(contract_reference="")

    contract, bill_to = resolve(document)

    assert contract == setup.contract
    assert bill_to == setup.bill_to


def test_guard_reports_price_mismatch_on_edited_price():
    _, document = external_draft()
    line = document.lines[0]
    document.lines[0] = dataclasses.replace(
        line, unit_price=Decimal("900.00"), net_amount=Decimal("900.00"), allowances_charges=[]
    )
    document.tax_subtotals, document.totals = build_document_totals(document)

    [result] = check_documents([document], as_of=AS_OF)

    assert [f.code for f in result.findings] == ["PRICE_MISMATCH"]
    assert result.findings[0].amount_at_stake is not None
    assert result.findings[0].amount_at_stake.amount == Decimal("100.00")


def test_guard_unknown_contract_is_a_finding():
    _, document = external_draft(contract_reference="C-404", order_reference="PO-NONE")

    [result] = check_documents([document], as_of=AS_OF)

    assert "CONTRACT_NOT_FOUND" in [f.code for f in result.findings]
    assert result.blocked


def test_check_command_reads_ubl_and_exits_by_findings(tmp_path, capsys):
    _, document = external_draft()
    clean = tmp_path / "clean.xml"
    clean.write_bytes(write_ubl(document))
    document.lines[0].unit_price = Decimal("900.00")
    wrong = tmp_path / "wrong.xml"
    wrong.write_bytes(write_ubl(document))

    clean_status = main(["check", str(clean), "--as-of", "2026-11-01"])
    wrong_status = main(["check", str(wrong), "--as-of", "2026-11-01"])

    out = capsys.readouterr().out
    assert clean_status == 0
    assert wrong_status == 1
    assert "PRICE_MISMATCH" in out
    assert "LINE_NET_INCONSISTENT" in out


@pytest.mark.django_db(transaction=True)
def test_guard_credit_note_skips_billing_checks(var_dir, capsys):
    make_contract()
    billing_run_execute(period=parse_period("2026-11"))
    credit_note_issue(
        invoice=invoice_by_number("ADE-000001"),
        reason="Half the month was not delivered",
        issue_date=dt.date(2026, 11, 20),
        quantities={"1": Decimal("0.5")},
    )
    path = var_dir / "invoices" / "acme-de" / "ADE-000002.xml"

    status = main(["check", str(path), "--as-of", "2026-11-20"])

    out = capsys.readouterr().out
    assert "credit note ADE-000002" in out
    assert "QUANTITY_MISMATCH" not in out
    assert "ALREADY_INVOICED" not in out
    assert status == 0
