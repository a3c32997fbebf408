import datetime as dt
import os
import stat
from decimal import Decimal

import pytest
from django.db import transaction

from billguard.billing.credit import credit_note_issue
from billguard.billing.exceptions import exception_resolve, exceptions_open
from billguard.billing.models import Invoice
from billguard.billing.run import billing_run_execute
from billguard.controls import services
from billguard.controls.keys import audit_key, audit_key_path
from billguard.controls.models import AuditChainHead, AuditEntry
from billguard.controls.services import audit_checkpoint, audit_record, checkpoints_read
from billguard.controls.verify import audit_verify
from billguard.domain.errors import NotFound
from billguard.domain.periods import parse_period
from billguard.registry.models import ContractVersion
from billguard.registry.services.amendments import (
    amendment_approve,
    amendment_draft,
    amendment_sign,
)
from billguard.registry.services.schedules import schedule_apply_amendment
from tests.controls.conftest import triggers_bypassed
from tests.factories import make_contract, make_sow


def actions() -> list[str]:
    return list(AuditEntry.objects.order_by("sequence").values_list("action", flat=True))


@pytest.mark.django_db(transaction=True)
def test_billing_run_records_issued_invoices():
    setup = make_contract()
    make_contract("C-2", customer_code="CUST-2")

    result = billing_run_execute(period=parse_period("2026-11"))

    assert actions() == [
        "document.store",
        "contract.create",
        "contract.activate",
        "document.store",
        "contract.create",
        "contract.activate",
        "invoice.issue",
        "invoice.issue",
    ]
    issued = AuditEntry.objects.filter(action="invoice.issue").order_by("sequence")
    invoices = Invoice.objects.order_by("pk")
    assert [e.record_id for e in issued] == [str(i.pk) for i in invoices]
    assert {e.record_type for e in issued} == {"billing.invoice"}
    assert {e.billing_run_id for e in issued} == {result.billing_run_id}
    assert {e.actor for e in issued} == {"system"}
    first = issued[0]
    assert first.before == {"status": "draft"}
    assert first.after["number"] == "ADE-000001"
    assert first.after["payable"] == "1190.00"
    sow_entry = AuditEntry.objects.get(sequence=1)
    assert sow_entry.record_id == str(setup.contract.versions.get().sow_document_id)
    assert sow_entry.after["family"] == "SOW-C-1"
    contract_entry = AuditEntry.objects.get(sequence=2)
    assert contract_entry.record_id == str(setup.contract.pk)
    assert contract_entry.after["number"] == "C-1"
    assert audit_verify().intact


@pytest.mark.django_db(transaction=True)
def test_billing_run_writes_checkpoint_at_end():
    make_contract()

    billing_run_execute(period=parse_period("2026-11"))

    head = AuditChainHead.objects.get()
    # document.store, contract.create, contract.activate, invoice.issue
    assert checkpoints_read() == [(4, head.hmac)]


@pytest.mark.django_db(transaction=True)
def test_credit_and_resolve_are_recorded():
    make_contract(sow_document_id=None)
    billing_run_execute(period=parse_period("2026-11"))
    held = exceptions_open().get()
    ContractVersion.objects.filter(contract=held.contract).update(
        sow_document=make_sow("SOW-C-1-signed")
    )

    exception_resolve(invoice_id=held.pk, note="Signed SOW stored", resolved_by="ops.lead")
    invoice = Invoice.objects.get(status=Invoice.Status.ISSUED)
    note = credit_note_issue(
        invoice=invoice,
        reason="Wrong quantity",
        issue_date=invoice.issue_date,
        quantities={"1": Decimal("1")},
        actor="ar.clerk",
    )

    assert actions() == [
        "document.store",
        "contract.create",
        "document.store",
        "invoice.issue",
        "exception.resolve",
        "credit_note.issue",
    ]
    resolved = AuditEntry.objects.get(action="exception.resolve")
    assert resolved.actor == "ops.lead"
    assert resolved.reason == "Signed SOW stored"
    assert AuditEntry.objects.get(action="invoice.issue").actor == "ops.lead"
    credited = AuditEntry.objects.get(action="credit_note.issue")
    assert credited.actor == "ar.clerk"
    assert credited.record_id == str(note.pk)
    assert credited.reason == "Wrong quantity"
    assert credited.after["credited_invoice"] == invoice.number
    assert audit_verify().intact


@pytest.mark.django_db
def test_amendment_flow_is_recorded():
    setup = make_contract()
    amendment = amendment_draft(
        contract=setup.contract,
        number="A-1",
        effective_from=dt.date(2026, 9, 1),
        changes={"lines": {"L1": {"unit_price": "1200.00"}}},
    )
    amendment_sign(
        amendment=amendment, document=make_sow("AMD-C-1"), signed_on=dt.date(2026, 8, 20)
    )
    amendment_approve(
        amendment=amendment, approved_by="finance.approver", approved_on=dt.date(2026, 8, 25)
    )
    schedule_apply_amendment(amendment=amendment, actor="billing.clerk")

    assert actions() == [
        "document.store",
        "contract.create",
        "contract.activate",
        "document.store",
        "amendment.sign",
        "amendment.approve",
        "schedule.apply_amendment",
    ]
    approved = AuditEntry.objects.get(action="amendment.approve")
    assert approved.actor == "finance.approver"
    assert approved.before["version"] == 1
    assert approved.after["version"] == 2
    assert approved.after["approved_on"] == "2026-08-25"
    applied = AuditEntry.objects.get(action="schedule.apply_amendment")
    assert applied.actor == "billing.clerk"
    assert applied.after["from"] == "2026-09-01"
    assert audit_verify().intact


@pytest.mark.django_db
def test_rolled_back_write_leaves_no_entry():
    setup = make_contract()

    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor="t", action="test.write", record=setup.contract, before=None, after=None)
        raise RuntimeError("roll back")

    assert AuditEntry.objects.count() == 3
    assert AuditChainHead.objects.get().sequence == 3
    assert audit_verify().intact


@pytest.mark.django_db
def test_checkpoint_every_n_entries(monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(services, "CHECKPOINT_EVERY", 3)
    # Three entries: document.store, contract.create and contract.activate.
    setup = make_contract()

    for number in range(7):
        # Each write is its own transaction, so each commit runs its callbacks.
        with django_capture_on_commit_callbacks(execute=True):
            audit_record(
                actor="t", action="test.write", record=setup.contract, before=None, after=number
            )

    sequences = [sequence for sequence, _ in checkpoints_read()]
    assert sequences == [6, 9]
    assert audit_checkpoint() == (10, AuditChainHead.objects.get().hmac)
    assert audit_checkpoint() is None
    assert audit_verify().intact


def test_key_file_is_created_private(var_dir):
    key = audit_key()

    assert len(key) == 32
    assert stat.S_IMODE(os.stat(audit_key_path()).st_mode) == 0o600
    assert audit_key() == key


def test_key_from_environment_wins(var_dir, monkeypatch):
    monkeypatch.setenv("BILLGUARD_AUDIT_KEY", "from-the-vault")

    assert audit_key() == b"from-the-vault"
    assert not audit_key_path().exists()


@pytest.mark.django_db
def test_cli_verify_exit_statuses(capsys):
    from billguard.cli.main import main

    make_contract()
    assert main(["audit", "verify"]) == 0
    assert "intact: 3 entries" in capsys.readouterr().out

    with triggers_bypassed():
        AuditEntry.objects.filter(sequence=1).update(actor="intruder")

    assert main(["audit", "verify"]) == 1
    output = capsys.readouterr().out
    assert "hmac_mismatch" in output
    assert "first entry in doubt 1" in output


@pytest.mark.django_db
def test_verify_without_key_raises(var_dir):
    make_contract()
    audit_key_path().unlink()

    with pytest.raises(NotFound, match="audit key file"):
        audit_verify()

    assert not audit_key_path().exists()
