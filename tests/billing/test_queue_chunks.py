"""Chunks of a billing run: how contracts are split, and a chunk delivered a second time."""

from __future__ import annotations

import pytest
from django.utils import timezone

from billguard.billing.chunks import MAX_CHUNK_ATTEMPTS, RunIncomplete, chunk_execute
from billguard.billing.models import BillingRun, BillingRunChunk, Invoice, NumberingSeries
from billguard.billing.run import billing_run_execute, plan_chunks
from billguard.checks.models import StoredFinding
from billguard.domain.periods import parse_period
from billguard.registry.models import Contract
from tests.factories import make_contract

pytestmark = pytest.mark.django_db(transaction=True)


def test_plan_chunks_keeps_customer_together():
    for number, customer in [
        ("C-1", "CUST-A"),
        ("C-2", "CUST-B"),
        ("C-3", "CUST-C"),
        ("C-4", "CUST-D"),
        ("C-5", "CUST-A"),
    ]:
        make_contract(number, customer_code=customer, customer_po=f"PO-{number}")
    ids = {c.number: c.pk for c in Contract.objects.all()}

    chunks = plan_chunks(sorted(ids.values()), chunk_size=2)

    assert chunks == [
        [ids["C-1"], ids["C-5"]],
        [ids["C-2"], ids["C-3"]],
        [ids["C-4"]],
    ]


def test_plan_chunks_gives_large_customer_one_chunk():
    for index in range(1, 5):
        make_contract(f"C-{index}", customer_po=f"PO-{index}")
    make_contract("C-5", customer_code="CUST-2")
    ids = sorted(Contract.objects.values_list("pk", flat=True))

    chunks = plan_chunks(ids, chunk_size=2)

    assert chunks == [ids[:4], ids[4:]]


def test_second_delivery_of_done_chunk_does_nothing():
    make_contract("C-1", customer_code="CUST-1")
    make_contract("C-2", customer_code="CUST-2", sow_document_id=None)
    result = billing_run_execute(period=parse_period("2026-11"))
    chunk = BillingRunChunk.objects.get(run_id=result.billing_run_id)
    invoices = list(Invoice.objects.order_by("pk").values_list("pk", "status", "number"))
    findings = StoredFinding.objects.count()

    chunk_execute(chunk.pk)

    chunk.refresh_from_db()
    assert chunk.status == BillingRunChunk.Status.DONE
    assert chunk.attempts == 1
    assert list(Invoice.objects.order_by("pk").values_list("pk", "status", "number")) == invoices
    assert StoredFinding.objects.count() == findings
    assert NumberingSeries.objects.get().next_number == 2


def test_chunk_started_too_often_fails():
    setup = make_contract()
    period = parse_period("2026-11")
    run = BillingRun.objects.create(
        period_label=period.label,
        period_start=period.start,
        period_end=period.end,
        started_at=timezone.now(),
    )
    chunk = BillingRunChunk.objects.create(
        run=run,
        index=1,
        contract_ids=[setup.contract.pk],
        status=BillingRunChunk.Status.RUNNING,
        attempts=MAX_CHUNK_ATTEMPTS,
    )

    with pytest.raises(RunIncomplete) as error:
        chunk_execute(chunk.pk)

    assert f"started {MAX_CHUNK_ATTEMPTS} times without finishing" in str(error.value)
    chunk.refresh_from_db()
    assert chunk.status == BillingRunChunk.Status.FAILED
    assert chunk.attempts == MAX_CHUNK_ATTEMPTS
    assert Invoice.objects.count() == 0


def test_customer_second_contract_sees_first_invoice():
    # Same customer, PO, lines and amount: the later contract looks like a duplicate.
    make_contract("C-1", customer_code="CUST-1")
    make_contract("C-2", customer_code="CUST-1")

    result = billing_run_execute(period=parse_period("2026-11"))

    assert [(o.contract_number, o.status) for o in result.outcomes] == [
        ("C-1", "issued"),
        ("C-2", "held"),
    ]
    codes = {f.code for f in result.outcomes[1].findings if f.blocks}
    assert codes == {"DUPLICATE_INVOICE_SUSPECTED"}
