import pytest

from billguard.billing.exceptions import exception_resolve, exceptions_open
from billguard.billing.models import ExceptionResolution, Invoice
from billguard.billing.run import billing_run_execute
from billguard.domain.errors import InvalidInput, NotFound, RuleViolation
from billguard.domain.periods import parse_period
from billguard.registry.models import ContractVersion
from tests.factories import make_contract, make_sow

pytestmark = pytest.mark.django_db(transaction=True)


def held_invoice() -> Invoice:
    make_contract(sow_document_id=None)
    billing_run_execute(period=parse_period("2026-11"))
    return exceptions_open().get()


def test_held_draft_is_listed_in_queue():
    held = held_invoice()

    assert held.status == Invoice.Status.HELD
    assert "SOW_MISSING" in {f.code for f in held.findings.all()}


def test_resolve_after_source_fix_issues_invoice():
    held = held_invoice()
    # ContractVersion rows are immutable in the services; a test fixes the source directly.
    ContractVersion.objects.filter(contract=held.contract).update(
        sow_document=make_sow("SOW-C-1-signed")
    )

    resolution = exception_resolve(invoice_id=held.pk, note="Signed SOW stored")

    assert resolution.issued
    assert resolution.invoice.number == "ADE-000001"
    assert not exceptions_open().exists()
    assert ExceptionResolution.objects.get().outcome == "issued"


def test_resolve_without_fix_stays_held():
    held = held_invoice()

    resolution = exception_resolve(invoice_id=held.pk, note="Tried again")

    assert not resolution.issued
    assert resolution.blocking_codes == ["SOW_MISSING"]
    assert exceptions_open().count() == 1


def test_resolve_needs_note():
    held = held_invoice()

    with pytest.raises(InvalidInput):
        exception_resolve(invoice_id=held.pk, note="")


def test_resolve_unknown_id_is_not_found():
    with pytest.raises(NotFound):
        exception_resolve(invoice_id=424242, note="Fixed")


def test_resolve_issued_invoice_is_rejected():
    make_contract()
    billing_run_execute(period=parse_period("2026-11"))
    issued = Invoice.objects.get()

    with pytest.raises(RuleViolation):
        exception_resolve(invoice_id=issued.pk, note="Fixed")
