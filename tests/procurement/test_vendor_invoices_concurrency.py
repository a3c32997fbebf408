"""Two people importing one file, or deciding one invoice, at the same moment, on PostgreSQL.

An import locks the vendors' rows before it looks for invoices already imported from the
file, and a decision locks the invoice's row, so the second one waits and then reads the
first one's result. SQLite has no row locks and serializes all writers, so these tests need
PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections

from billguard.domain.errors import RuleViolation
from billguard.procurement.models import VendorInvoice
from billguard.procurement.vendor_invoice_import import ImportOutcome, vendor_invoices_import
from billguard.procurement.vendor_invoices import vendor_invoice_approve, vendor_invoice_record
from tests.acting_users import make_user
from tests.procurement.invoicing import OTHER_IBAN, invoice_input, make_order, make_vendor

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks between connections need PostgreSQL"
    ),
]

THREAD_TIMEOUT = 60
CSV = (
    "vendor,purchase_order,invoice_number,issue_date,currency,net_total,tax_total,gross_total,"
    "order_line,quantity,unit_price,line_net\n"
    "V-HOST,PO-1001,INV-5,2026-10-01,EUR,120.00,0,120.00,1,1,120.00,120.00\n"
)


def run_together(calls: list[Callable[[], object]]) -> tuple[list[object], list[BaseException]]:
    """Run ``calls`` in threads released at the same moment by a barrier."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = []
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=THREAD_TIMEOUT)
            results.append(call())
        except BaseException as error:  # reported by the test thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT)
        assert not thread.is_alive(), "a thread did not finish"
    return results, errors


def test_same_file_imported_twice_at_once_records_once():
    make_order(make_vendor())

    def import_file() -> ImportOutcome:
        return vendor_invoices_import(content=CSV.encode(), source="october.csv", by=None)

    results, errors = run_together([import_file, import_file])

    assert errors == []
    outcomes = [result for result in results if isinstance(result, ImportOutcome)]
    assert sorted(len(outcome.recorded) for outcome in outcomes) == [0, 1]
    assert sorted(len(outcome.skipped) for outcome in outcomes) == [0, 1]
    assert VendorInvoice.objects.count() == 1


def test_two_approvers_at_once_approve_once():
    make_order(make_vendor())
    held = vendor_invoice_record(invoice_input(payee_iban=OTHER_IBAN), by=None)
    alex = make_user("alex.approver", "finance_approver")
    blake = make_user("blake.approver", "finance_approver")

    results, errors = run_together(
        [
            lambda: vendor_invoice_approve(invoice_id=held.pk, reason="Confirmed", by=alex),
            lambda: vendor_invoice_approve(invoice_id=held.pk, reason="Confirmed", by=blake),
        ]
    )

    assert len(results) == 1
    assert len(errors) == 1
    assert isinstance(errors[0], RuleViolation)
    stored = VendorInvoice.objects.get(pk=held.pk)
    assert stored.status == VendorInvoice.Status.APPROVED
    assert stored.decided_by in ("alex.approver", "blake.approver")
