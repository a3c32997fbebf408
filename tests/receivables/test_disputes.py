import datetime as dt
from decimal import Decimal

import pytest

from billguard.billing.credit import credit_note_issue
from billguard.billing.exceptions import exception_resolve, exceptions_open
from billguard.billing.models import Invoice
from billguard.controls.models import AuditEntry
from billguard.domain.errors import InvalidInput, NotAllowed, RuleViolation
from billguard.domain.money import money_text
from billguard.receivables.balances import CREDITED, balance_of
from billguard.receivables.disputes import (
    dispute_open,
    dispute_reject,
    dispute_resolve,
    disputes_list,
    reissue_of,
)
from billguard.receivables.models import Dispute
from billguard.registry.models import ContractVersion
from tests.acting_users import make_user
from tests.factories import make_sow
from tests.receivables.conftest import Receivables

pytestmark = pytest.mark.django_db

D = Decimal


def open_dispute(receivables: Receivables, invoice: Invoice | None = None, **options) -> Dispute:  # type: ignore[no-untyped-def]
    values = {
        "invoice": invoice or receivables.september,
        "opened_on": dt.date(2026, 9, 10),
        "reason": "wrong_price",
        "amount": D("119.00"),
        "note": "Price should be 900.00",
        "check_code": "PRICE_MISMATCH",
        "by": receivables.finance,
        **options,
    }
    return dispute_open(**values)  # type: ignore[arg-type]


def test_open_dispute_records_reason_and_check(receivables: Receivables):
    dispute = open_dispute(receivables)

    assert dispute.status == Dispute.Status.OPEN
    assert dispute.check_code == "PRICE_MISMATCH"
    assert AuditEntry.objects.filter(action="dispute.open").count() == 1


def test_unknown_check_code_is_rejected(receivables: Receivables):
    with pytest.raises(InvalidInput) as error:
        open_dispute(receivables, check_code="PRICE_WRONG")

    assert error.value.place == "--check"
    assert error.value.value == "PRICE_WRONG"


def test_procurement_check_code_is_rejected(receivables: Receivables):
    # A vendor-invoice check never runs on a customer invoice, so it could not have caught it.
    with pytest.raises(InvalidInput):
        open_dispute(receivables, check_code="VENDOR_NOT_ONBOARDED")


@pytest.mark.parametrize(
    ("option", "value", "place"),
    [
        ("reason", "too_expensive", "--reason"),
        ("amount", D("1190.01"), "--amount"),
        ("amount", D("0"), "--amount"),
        ("opened_on", dt.date(2026, 8, 31), "--date"),
    ],
)
def test_bad_dispute_is_rejected(receivables: Receivables, option, value, place):
    with pytest.raises(InvalidInput) as error:
        open_dispute(receivables, **{option: value})

    assert error.value.place == place
    assert not Dispute.objects.exists()


def test_second_open_dispute_is_rejected(receivables: Receivables):
    open_dispute(receivables)

    with pytest.raises(RuleViolation):
        open_dispute(receivables)


def test_fully_credited_invoice_cannot_be_disputed(receivables: Receivables):
    credit_note_issue(
        invoice=receivables.september,
        reason="Billed twice",
        issue_date=dt.date(2026, 9, 15),
        by=receivables.finance,
    )

    with pytest.raises(RuleViolation) as refused:
        open_dispute(receivables, opened_on=dt.date(2026, 9, 20))

    assert refused.value.place == "INVOICE"
    assert refused.value.value == "ADE-000001"
    assert refused.value.message == (
        "invoice ADE-000001 is credited in full by credit note ADE-000004, "
        "so nothing is left to dispute."
    )
    assert refused.value.fix
    assert not Dispute.objects.exists()


def test_partly_credited_invoice_can_still_be_disputed(receivables: Receivables):
    credit_note_issue(
        invoice=receivables.september,
        reason="Half the month was not delivered",
        issue_date=dt.date(2026, 9, 15),
        quantities={"1": D("0.5")},
        by=receivables.finance,
    )

    dispute = open_dispute(receivables, opened_on=dt.date(2026, 9, 20))

    assert dispute.invoice == receivables.september


def test_dispute_capped_at_uncredited_amount(receivables: Receivables):
    note = credit_note_issue(
        invoice=receivables.september,
        reason="Half the month was not delivered",
        issue_date=dt.date(2026, 9, 15),
        quantities={"1": D("0.5")},
        by=receivables.finance,
    )
    left = receivables.september.payable - note.payable

    with pytest.raises(InvalidInput) as refused:
        open_dispute(receivables, opened_on=dt.date(2026, 9, 20), amount=left + D("0.01"))

    assert refused.value.place == "--amount"
    assert refused.value.message == (
        f"the disputed amount {left + D('0.01')} is not between 0 and the "
        f"{money_text(left, 'EUR')} of invoice {receivables.september.number} that credit note "
        f"{note.number} left uncredited."
    )
    assert not Dispute.objects.exists()
    dispute = open_dispute(receivables, opened_on=dt.date(2026, 9, 20), amount=left)
    assert dispute.amount == left


def test_sales_may_open_but_not_decide(receivables: Receivables):
    sales = make_user("sam", "sales")
    dispute = open_dispute(receivables, by=sales)

    with pytest.raises(NotAllowed):
        dispute_reject(dispute=dispute, note="Price is right", by=sales)


def test_reject_closes_dispute(receivables: Receivables):
    dispute = open_dispute(receivables)

    dispute_reject(dispute=dispute, note="Price matches the signed SOW", by=receivables.finance)

    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.REJECTED
    assert dispute.decided_by == "fran"
    assert dispute.credit_note is None
    with pytest.raises(RuleViolation):
        dispute_reject(dispute=dispute, note="Again", by=receivables.finance)


def test_resolve_by_credit_note_alone(receivables: Receivables):
    dispute = open_dispute(receivables)

    resolution = dispute_resolve(
        dispute=dispute,
        reissue=False,
        note="Half the month was not delivered",
        issue_date=dt.date(2026, 9, 15),
        quantities={"1": D("0.5")},
        by=receivables.finance,
    )

    assert resolution.reissued is None
    assert resolution.credit_note.number == "ADE-000004"
    assert resolution.credit_note.payable == D("595.00")
    assert resolution.dispute.resolution == Dispute.Resolution.CREDIT_ONLY
    assert balance_of(receivables.september, dt.date(2026, 9, 16)).open_amount == D("595.00")


def test_resolve_by_credit_and_reissue(receivables: Receivables):
    dispute = open_dispute(receivables)

    resolution = dispute_resolve(
        dispute=dispute,
        reissue=True,
        note="Wrong bill-to contact corrected",
        issue_date=dt.date(2026, 9, 20),
        by=receivables.finance,
    )

    reissued = resolution.reissued
    assert reissued is not None
    assert resolution.credit_note.number == "ADE-000004"
    assert reissued.number == "ADE-000005"
    assert reissued.status == Invoice.Status.ISSUED
    assert reissued.replaces == receivables.september
    assert reissued.issue_date == dt.date(2026, 9, 20)
    assert reissued.due_date == dt.date(2026, 10, 20)
    assert reissued.period_start == receivables.september.period_start
    assert reissued.payable == receivables.september.payable
    assert resolution.blocking_codes == []
    assert balance_of(receivables.september, dt.date(2026, 9, 21)).status == CREDITED
    assert reissue_of(resolution.dispute) == reissued
    assert AuditEntry.objects.filter(action="dispute.resolve").count() == 1


def test_reissue_held_by_checks_then_resolved(receivables: Receivables):
    dispute = open_dispute(receivables)
    contract = receivables.setup.contract
    # ContractVersion rows are immutable in the services; a test breaks the source directly.
    ContractVersion.objects.filter(contract=contract).update(sow_document=None)

    resolution = dispute_resolve(
        dispute=dispute,
        reissue=True,
        note="Reissue with the corrected price",
        issue_date=dt.date(2026, 9, 20),
        by=receivables.finance,
    )

    held = resolution.reissued
    assert held is not None
    assert held.status == Invoice.Status.HELD
    assert held.number is None
    assert "SOW_MISSING" in resolution.blocking_codes
    assert list(exceptions_open()) == [held]

    ContractVersion.objects.filter(contract=contract).update(sow_document=make_sow("SOW-fixed"))
    outcome = exception_resolve(invoice_id=held.pk, note="SOW stored", by=receivables.finance)

    assert outcome.issued
    assert outcome.invoice.replaces_id == receivables.september.pk
    assert outcome.invoice.draft_key == "C-1#R1:2026-09"
    assert outcome.invoice.issue_date == dt.date(2026, 9, 20)
    assert outcome.invoice.due_date == dt.date(2026, 10, 20)
    dispute.refresh_from_db()
    assert reissue_of(dispute) == outcome.invoice


def test_reissue_needs_full_credit(receivables: Receivables):
    dispute = open_dispute(receivables)

    with pytest.raises(InvalidInput):
        dispute_resolve(
            dispute=dispute,
            reissue=True,
            note="Partial",
            issue_date=dt.date(2026, 9, 20),
            quantities={"1": D("0.5")},
            by=receivables.finance,
        )


def test_resolve_records_the_check_code(receivables: Receivables):
    dispute = open_dispute(receivables, check_code="")

    resolution = dispute_resolve(
        dispute=dispute,
        reissue=False,
        note="Credited in full",
        issue_date=dt.date(2026, 9, 20),
        check_code="bill_to_mismatch",
        by=receivables.finance,
    )

    assert resolution.dispute.check_code == "BILL_TO_MISMATCH"
    entry = AuditEntry.objects.get(action="dispute.resolve")
    assert "BILL_TO_MISMATCH" in str(entry.after)


def test_resolve_without_check_code_keeps_it(receivables: Receivables):
    dispute = open_dispute(receivables)

    resolution = dispute_resolve(
        dispute=dispute,
        reissue=False,
        note="Credited in full",
        issue_date=dt.date(2026, 9, 20),
        by=receivables.finance,
    )

    assert resolution.dispute.check_code == "PRICE_MISMATCH"


def test_resolve_with_unknown_check_code_is_rejected(receivables: Receivables):
    dispute = open_dispute(receivables)

    with pytest.raises(InvalidInput) as error:
        dispute_resolve(
            dispute=dispute,
            reissue=False,
            note="Credited in full",
            issue_date=dt.date(2026, 9, 20),
            check_code="PRICE_WRONG",
            by=receivables.finance,
        )

    assert error.value.place == "--check"
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.OPEN
    assert not Invoice.objects.filter(document_type="credit_note").exists()


def test_resolve_without_invoice_credit_is_rejected(receivables: Receivables):
    dispute = open_dispute(receivables)
    # A finance approver may decide disputes and credit invoices; an auditor may do neither.
    auditor = make_user("aud", "auditor")

    with pytest.raises(NotAllowed):
        dispute_resolve(
            dispute=dispute,
            reissue=False,
            note="x",
            issue_date=dt.date(2026, 9, 20),
            by=auditor,
        )
    assert not Invoice.objects.filter(document_type="credit_note").exists()


def test_list_filters_by_status(receivables: Receivables):
    first = open_dispute(receivables)
    open_dispute(receivables, invoice=receivables.october, opened_on=dt.date(2026, 10, 3))
    dispute_reject(dispute=first, note="No", by=receivables.finance)

    assert [d.invoice.number for d in disputes_list(status="open")] == ["ADE-000002"]
    assert len(disputes_list()) == 2
    with pytest.raises(InvalidInput):
        disputes_list(status="closed")
