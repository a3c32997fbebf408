"""``exceptions override`` and ``amendments`` from the CLI, on the real services and database."""

import datetime as dt
from decimal import Decimal

import pytest

from billguard.billing.exceptions import exceptions_open
from billguard.billing.models import Invoice
from billguard.billing.run import billing_run_execute
from billguard.cli.main import main
from billguard.controls.models import ChangeRequest
from billguard.domain.periods import parse_period
from billguard.registry.models import Amendment, ContractVersion
from tests.factories import make_contract, make_sow

pytestmark = pytest.mark.django_db(transaction=True)

OVERRIDE_REASON = ["--reason", "SOW signed, upload pending"]


def held_invoice() -> Invoice:
    make_contract(sow_document_id=None)
    billing_run_execute(period=parse_period("2026-11"))
    return exceptions_open().get()


def cli(user: str, *arguments: str) -> int:
    return main(["--user", user, *arguments])


def test_override_then_approval_issues(capsys, sample_users):
    held = held_invoice()

    status = cli("fran.finance", "exceptions", "override", str(held.pk), *OVERRIDE_REASON)

    assert status == 0
    request = ChangeRequest.objects.get()
    assert request.target == "invoice_override"
    assert request.target_id == str(held.pk)
    out = capsys.readouterr().out
    assert f"change request {request.pk} asks to override held invoice {held.pk}" in out
    assert f"billguard approvals approve {request.pk}" in out
    assert Invoice.objects.get(pk=held.pk).status == Invoice.Status.HELD

    approved = cli("alex.approver", "approvals", "approve", str(request.pk))

    assert approved == 0
    invoice = Invoice.objects.get(pk=held.pk)
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.override_reason == "SOW signed, upload pending"


def test_override_requester_cannot_approve(capsys, sample_users):
    held = held_invoice()
    cli("alex.approver", "exceptions", "override", str(held.pk), *OVERRIDE_REASON)
    request = ChangeRequest.objects.get()
    capsys.readouterr()

    status = cli("alex.approver", "approvals", "approve", str(request.pk))

    assert status == 2
    assert "alex.approver made change request" in capsys.readouterr().err
    assert Invoice.objects.get(pk=held.pk).status == Invoice.Status.HELD


def test_override_by_sales_refused(capsys, sample_users):
    held = held_invoice()

    status = cli("sam.sales", "exceptions", "override", str(held.pk), *OVERRIDE_REASON)

    assert status == 2
    assert "sam.sales (sales) may not" in capsys.readouterr().err
    assert not ChangeRequest.objects.exists()


def test_override_unknown_invoice(capsys, sample_users):
    status = cli("fran.finance", "exceptions", "override", "4040", *OVERRIDE_REASON)

    assert status == 2
    assert "invoice 4040 was not found" in capsys.readouterr().err


def test_override_blank_reason_refused(capsys, sample_users):
    held = held_invoice()

    status = cli("fran.finance", "exceptions", "override", str(held.pk), "--reason", "  ")

    assert status == 2
    assert "reason: an override needs a reason" in capsys.readouterr().err


def test_override_without_reason_exits_two(capsys, sample_users):
    with pytest.raises(SystemExit) as exited:
        cli("fran.finance", "exceptions", "override", "1")

    assert exited.value.code == 2
    assert "--reason" in capsys.readouterr().err


def draft_amendment(user: str = "sam.sales", *changes: str) -> int:
    return cli(
        user,
        "amendments",
        "draft",
        "C-1",
        "A-1",
        "--effective",
        "2026-11-01",
        *(changes or ("--line", "L1:unit_price=1100.00", "--set", "payment_terms_days=45")),
        "--description",
        "Renewal uplift",
    )


def test_amendment_draft_sign_approve(capsys, sample_users):
    setup = make_contract()
    document = make_sow("AMD-C-1-A-1")

    assert draft_amendment() == 0
    amendment = Amendment.objects.get()
    assert amendment.changes == {
        "lines": {"L1": {"unit_price": "1100.00"}},
        "payment_terms_days": 45,
    }
    assert amendment.description == "Renewal uplift"

    signed = cli(
        "sam.sales",
        "amendments",
        "sign",
        "C-1",
        "A-1",
        "--document",
        str(document.pk),
        "--signed-on",
        "2026-10-20",
    )
    assert signed == 0
    amendment.refresh_from_db()
    assert amendment.status == Amendment.Status.SIGNED
    assert amendment.document_id == document.pk

    requested = cli(
        "sam.sales", "amendments", "request-approval", "C-1", "A-1", "--reason", "Renewal"
    )
    assert requested == 0
    request = ChangeRequest.objects.get()
    assert request.amendment_id == amendment.pk
    assert request.target_id == str(setup.contract.pk)
    assert "price" in request.categories
    out = capsys.readouterr().out
    assert f"billguard approvals approve {request.pk}" in out

    assert cli("alex.approver", "approvals", "approve", str(request.pk)) == 0

    amendment.refresh_from_db()
    assert amendment.status == Amendment.Status.APPROVED
    assert amendment.approved_by == "alex.approver"
    version = ContractVersion.objects.get(contract=setup.contract, version_number=2)
    assert version.amendment_id == amendment.pk
    assert version.effective_from == dt.date(2026, 11, 1)
    assert version.payment_terms_days == 45
    assert version.lines.get(line_code="L1").unit_price == Decimal("1100.00")


def test_amendment_list(capsys, sample_users):
    make_contract()
    draft_amendment()
    capsys.readouterr()

    status = main(["amendments", "list", "C-1"])

    assert status == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].split()[:4] == ["number", "status", "effective", "signed"]
    assert rows[1].split() == [
        "A-1",
        "drafted",
        "2026-11-01",
        "-",
        "-",
        "lines.L1.unit_price,",
        "payment_terms_days",
    ]


def test_amendment_list_empty(capsys, sample_users):
    make_contract()

    assert main(["amendments", "list", "C-1"]) == 0
    assert "contract C-1 has no amendments" in capsys.readouterr().out


def test_amendment_draft_by_auditor_refused(capsys, sample_users):
    make_contract()

    status = draft_amendment("audrey.auditor")

    assert status == 2
    assert "audrey.auditor (auditor) may not" in capsys.readouterr().err
    assert not Amendment.objects.exists()


def test_amendment_draft_unknown_field(capsys, sample_users):
    make_contract()

    status = draft_amendment("sam.sales", "--set", "colour=blue")

    assert status == 2
    err = capsys.readouterr().err
    assert "changes.colour" in err
    assert not Amendment.objects.exists()


def test_amendment_unknown_contract(capsys, sample_users):
    status = main(["amendments", "list", "C-404"])

    assert status == 2
    assert "error: CONTRACT: contract 'C-404' is not in the registry" in capsys.readouterr().err


def test_amendment_unknown_number(capsys, sample_users):
    make_contract()

    status = cli("sam.sales", "amendments", "request-approval", "C-1", "A-9", "--reason", "Renewal")

    assert status == 2
    assert "error: NUMBER: contract C-1 has no amendment 'A-9'" in capsys.readouterr().err


def test_amendment_sign_unknown_document(capsys, sample_users):
    make_contract()
    draft_amendment()

    status = cli(
        "sam.sales",
        "amendments",
        "sign",
        "C-1",
        "A-1",
        "--document",
        "4040",
        "--signed-on",
        "2026-10-20",
    )

    assert status == 2
    assert "error: --document: document 4040 was not found" in capsys.readouterr().err
    assert Amendment.objects.get().status == Amendment.Status.DRAFTED


def test_amendment_unsigned_approval_refused(capsys, sample_users):
    make_contract()
    draft_amendment()

    status = cli("sam.sales", "amendments", "request-approval", "C-1", "A-1", "--reason", "x")

    assert status == 2
    assert "only a signed amendment goes to approval" in capsys.readouterr().err
    assert not ChangeRequest.objects.exists()


def test_amendment_draft_needs_effective_date(capsys, sample_users):
    with pytest.raises(SystemExit) as exited:
        cli("sam.sales", "amendments", "draft", "C-1", "A-1", "--set", "payment_terms_days=45")

    assert exited.value.code == 2
    assert "--effective" in capsys.readouterr().err
