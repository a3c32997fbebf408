import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from billguard.billing.models import BillingRun, Invoice, NumberingSeries
from billguard.billing.run import billing_run_execute
from billguard.controls.models import AuditEntry
from billguard.domain.errors import NotFound
from billguard.domain.periods import parse_period
from billguard.einvoice.validation import has_fatal, validate_ubl
from billguard.registry.models import BillingScheduleLine
from tests.factories import make_contract

pytestmark = pytest.mark.django_db(transaction=True)


def test_run_issues_clean_draft_with_first_number(var_dir):
    make_contract()

    result = billing_run_execute(period=parse_period("2026-11"))

    assert [o.status for o in result.outcomes] == ["issued"]
    invoice = Invoice.objects.get()
    assert invoice.number == "ADE-000001"
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.line_extension == Decimal("1000.00")
    assert invoice.tax_total == Decimal("190.00")
    assert invoice.payable == Decimal("1190.00")
    assert invoice.period_start == dt.date(2026, 11, 1)
    assert invoice.period_end == dt.date(2026, 11, 30)


def test_run_twice_issues_nothing_twice():
    make_contract()
    period = parse_period("2026-11")

    billing_run_execute(period=period)
    second = billing_run_execute(period=period)

    assert second.already_issued == 1
    assert second.outcomes == []
    assert Invoice.objects.count() == 1
    assert NumberingSeries.objects.get().next_number == 2


def test_run_by_user_records_user_as_actor(sample_users):
    make_contract("C-1", customer_code="CUST-A", customer_po="PO-1")
    make_contract("C-2", customer_code="CUST-B", customer_po="PO-2")

    result = billing_run_execute(
        period=parse_period("2026-11"), chunk_size=1, by=sample_users["fran.finance"]
    )

    assert BillingRun.objects.get(pk=result.billing_run_id).started_by == "fran.finance"
    entries = AuditEntry.objects.filter(action="invoice.issue").order_by("sequence")
    assert [e.billing_run_id for e in entries] == [result.billing_run_id] * 2
    assert [e.actor for e in entries] == ["fran.finance", "fran.finance"]


def test_run_without_user_records_system_as_actor():
    make_contract()

    result = billing_run_execute(period=parse_period("2026-11"))

    assert BillingRun.objects.get(pk=result.billing_run_id).started_by == ""
    entry = AuditEntry.objects.get(action="invoice.issue")
    assert entry.actor == "system"


def test_run_holds_draft_with_blocking_finding():
    make_contract(sow_document_id=None)

    result = billing_run_execute(period=parse_period("2026-11"))

    assert [o.status for o in result.outcomes] == ["held"]
    held = Invoice.objects.get()
    assert held.status == Invoice.Status.HELD
    assert held.number is None
    assert "SOW_MISSING" in set(held.findings.values_list("code", flat=True))
    assert NumberingSeries.objects.get().next_number == 1


def test_rerun_keeps_first_held_time():
    make_contract(sow_document_id=None)
    period = parse_period("2026-11")
    billing_run_execute(period=period)
    first = Invoice.objects.get()
    first_held = first.created_at - dt.timedelta(days=9)
    Invoice.objects.filter(pk=first.pk).update(held_since=first_held)

    billing_run_execute(period=period)

    again = Invoice.objects.get()
    assert again.pk != first.pk
    assert again.status == Invoice.Status.HELD
    assert again.held_since == first_held
    assert again.created_at > first.created_at


def test_run_records_held_since():
    make_contract(sow_document_id=None)
    before = timezone.now()

    billing_run_execute(period=parse_period("2026-11"))

    held = Invoice.objects.get()
    assert held.held_since is not None
    assert before <= held.held_since <= held.created_at


def test_dry_run_stores_nothing():
    make_contract()

    result = billing_run_execute(period=parse_period("2026-11"), dry_run=True)

    assert [o.status for o in result.outcomes] == ["clean"]
    assert Invoice.objects.count() == 0
    assert BillingRun.objects.count() == 0


def test_run_prorates_price_change_mid_period():
    setup = make_contract()
    line = BillingScheduleLine.objects.get(schedule__contract=setup.contract)
    line.effective_to = dt.date(2026, 11, 16)
    line.save()
    BillingScheduleLine.objects.create(
        schedule=line.schedule,
        line_code="L1",
        kind=line.kind,
        description=line.description,
        quantity=line.quantity,
        unit_price=Decimal("1300.00"),
        gl_account=line.gl_account,
        tax_category="S",
        tax_rate=Decimal("19"),
        effective_from=dt.date(2026, 11, 16),
    )

    result = billing_run_execute(period=parse_period("2026-11"), dry_run=True)

    drafted = result.outcomes[0]
    # 15 of 30 days at 1000.00 and 15 of 30 days at 1300.00
    assert Decimal(drafted.payable) == Decimal("1368.50")


def test_run_unknown_contract_is_not_found():
    with pytest.raises(NotFound) as error:
        billing_run_execute(period=parse_period("2026-11"), contract_number="C-404")

    assert "C-404" in str(error.value)


def test_issued_invoice_ubl_passes_en16931_rules(var_dir):
    make_contract()

    billing_run_execute(period=parse_period("2026-11"))

    xml = (var_dir / "invoices" / "acme-de" / "ADE-000001.xml").read_bytes()
    messages = validate_ubl(xml)
    assert not has_fatal(messages), [m for m in messages if m.flag == "fatal"]
    journal = (var_dir / "invoices" / "acme-de" / "ADE-000001.journal.csv").read_text()
    assert journal.splitlines() == [
        "date,invoice_number,account,debit,credit,tax_code",
        "2026-11-01,ADE-000001,1200,1190.00,,",
        "2026-11-01,ADE-000001,4000,,1000.00,",
        "2026-11-01,ADE-000001,2200,,190.00,S19",
    ]


def test_quarterly_schedule_counts_quarters_from_its_start():
    make_contract(cadence="quarterly", effective_from=dt.date(2026, 2, 1))

    november = billing_run_execute(period=parse_period("2026-11"), dry_run=True)
    december = billing_run_execute(period=parse_period("2026-12"), dry_run=True)

    # Quarters run Feb-Apr, May-Jul, Aug-Oct, Nov-Jan: November opens one, December none.
    assert len(november.outcomes) == 1
    assert december.outcomes == []
    assert november.outcomes[0].draft_key == "C-1:2026-11"
