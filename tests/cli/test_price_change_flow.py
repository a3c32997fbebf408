"""A price change from request to invoice, through the CLI only, on the real database."""

from decimal import Decimal

import pytest
from django.utils import timezone

from billguard.billing.models import Invoice
from billguard.checks.models import StoredFinding
from billguard.cli.main import main
from billguard.controls.models import ChangeRequest
from billguard.registry.models import BillingScheduleLine, ContractVersion
from tests.factories import make_contract

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PRICE = ["--line", "L1:unit_price=1100.00", "--effective", "2026-11-01"]


def cli(user: str, *arguments: str) -> int:
    return main(["--user", user, *arguments])


def only_request(target: str) -> ChangeRequest:
    return ChangeRequest.objects.get(target=target)


def test_price_change_reaches_invoice(capsys, sample_users):
    """Sales requests a new price, an approver approves it, and the invoice follows.

    The approved request creates contract version 2 at the new price, and requests the
    matching change of the billing schedule in the requester's name. The schedule is finance's
    own record, so until someone approves that request the run still drafts the old price and
    PRICE_MISMATCH holds the draft. Once a second approver approves it, resolving the
    exception drafts the invoice again at the new price in place of the held draft.
    """
    setup = make_contract()

    assert (
        cli(
            "sam.sales",
            "approvals",
            "request",
            "contract",
            "C-1",
            *NEW_PRICE,
            "--reason",
            "Renewal uplift",
        )
        == 0
    )
    contract_request = only_request("contract")
    assert cli("alex.approver", "approvals", "approve", str(contract_request.pk)) == 0

    contract_request.refresh_from_db()
    assert contract_request.status == ChangeRequest.Status.APPLIED
    version = ContractVersion.objects.get(contract=setup.contract, version_number=2)
    assert version.change_request_id == contract_request.pk
    assert version.lines.get(line_code="L1").unit_price == Decimal("1100.00")
    schedule_request = only_request("schedule")
    assert contract_request.result["schedule_request"] == schedule_request.pk
    assert schedule_request.status == ChangeRequest.Status.PENDING
    assert schedule_request.requested_by.username == "sam.sales"
    assert schedule_request.changes == {"lines": {"L1": {"unit_price": "1100"}}}

    assert cli("fran.finance", "run", "--period", "2026-11") == 1
    held = Invoice.objects.get(contract=setup.contract)
    assert held.status == Invoice.Status.HELD
    assert held.lines.get().unit_price == Decimal("1000.00")
    blocking = set(
        StoredFinding.objects.filter(invoice=held, severity="block").values_list("code", flat=True)
    )
    assert "PRICE_MISMATCH" in blocking

    assert cli("blake.approver", "approvals", "approve", str(schedule_request.pk)) == 0
    schedule_request.refresh_from_db()
    assert schedule_request.status == ChangeRequest.Status.APPLIED
    assert BillingScheduleLine.objects.filter(
        line_code="L1", unit_price=Decimal("1100.00")
    ).exists()
    capsys.readouterr()

    status = cli("fran.finance", "exceptions", "resolve", str(held.pk), "--note", "schedule fixed")

    assert status == 0
    invoice = Invoice.objects.get(contract=setup.contract)
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.lines.get().unit_price == Decimal("1100.00")
    assert f"issued invoice {invoice.number}" in capsys.readouterr().out


def test_matching_schedule_gets_no_request(sample_users):
    """A contract change that the schedule already matches requests no schedule change."""
    setup = make_contract()
    cli(
        "sam.sales",
        "approvals",
        "request",
        "contract",
        "C-1",
        "--set",
        "payment_terms_days=45",
        "--effective",
        "2026-11-01",
        "--reason",
        "Terms",
    )
    contract_request = only_request("contract")

    assert cli("alex.approver", "approvals", "approve", str(contract_request.pk)) == 0

    contract_request.refresh_from_db()
    assert contract_request.result["schedule_request"] is None
    assert not ChangeRequest.objects.filter(target="schedule").exists()
    assert setup.contract.versions.count() == 2


def test_billing_run_applies_due_requests(sample_users):
    """An approved request whose effective date has come is applied by the next billing run,
    before it drafts, so the run bills the new price without `approvals apply-due`."""
    setup = make_contract()
    today = timezone.localdate()
    later = today.replace(day=1).replace(year=today.year + 1)
    for target in ("contract", "schedule"):
        user = "sam.sales" if target == "contract" else "fran.finance"
        assert (
            cli(
                user,
                "approvals",
                "request",
                target,
                "C-1",
                "--line",
                "L1:unit_price=1100.00",
                "--effective",
                later.isoformat(),
                "--reason",
                "Uplift",
            )
            == 0
        )
        request = only_request(target)
        assert cli("alex.approver", "approvals", "approve", str(request.pk)) == 0
    assert set(ChangeRequest.objects.values_list("status", flat=True)) == {"approved"}
    # The effective date arrives: move it to the first day of this month.
    ChangeRequest.objects.update(effective_from=today.replace(day=1))

    status = cli("fran.finance", "run", "--period", f"{today:%Y-%m}")

    assert status == 0
    statuses = dict(ChangeRequest.objects.values_list("reason", "status"))
    assert statuses == {"Uplift": "applied"} | {
        reason: "pending" for reason in statuses if reason.startswith("follows")
    }
    invoice = Invoice.objects.get(contract=setup.contract)
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.lines.get().unit_price == Decimal("1100.00")


def test_dry_run_applies_nothing(sample_users):
    make_contract()
    today = timezone.localdate()
    later = today.replace(day=1).replace(year=today.year + 1)
    cli(
        "sam.sales",
        "approvals",
        "request",
        "contract",
        "C-1",
        "--set",
        "payment_terms_days=45",
        "--effective",
        later.isoformat(),
        "--reason",
        "Terms",
    )
    request = only_request("contract")
    cli("alex.approver", "approvals", "approve", str(request.pk))
    ChangeRequest.objects.update(effective_from=today.replace(day=1))

    status = cli("fran.finance", "run", "--period", f"{today:%Y-%m}", "--dry-run")

    assert status == 0
    request.refresh_from_db()
    assert request.status == ChangeRequest.Status.APPROVED
