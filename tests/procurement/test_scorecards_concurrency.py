"""Two computations of the same month at the same moment, on PostgreSQL.

The vendors are locked while the scores are stored, so the second computation updates the
rows the first one created, and the alert goes out once. SQLite has no row locks and
serializes all writers, so these tests need PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections

from billguard.controls.models import AlertDelivery, AlertSubscription
from billguard.controls.models.alerts import AlertEvent
from billguard.procurement.models import VendorScore
from billguard.procurement.scorecards import ScorecardRun, vendor_scores_compute
from tests.procurement.scorecard_records import make_order, make_receipt, make_vendor, order_line

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks between connections need PostgreSQL"
    ),
]

THREAD_TIMEOUT = 60


def compute_together(count: int) -> tuple[list[ScorecardRun], list[BaseException]]:
    """Compute 2026-11 from ``count`` threads released at the same moment by a barrier."""
    barrier = threading.Barrier(count)
    runs: list[ScorecardRun] = []
    errors: list[BaseException] = []

    def compute() -> None:
        try:
            barrier.wait(timeout=THREAD_TIMEOUT)
            runs.append(vendor_scores_compute(period="2026-11"))
        except BaseException as error:  # reported by the test thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=compute) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT)
        assert not thread.is_alive(), "a computing thread did not finish"
    return runs, errors


def test_two_computations_store_and_alert_once():
    vendor = make_vendor()
    order = make_order(vendor, "PO-1", lines=[("100.00", dt.date(2026, 11, 10))])
    make_receipt(order_line(order), dt.date(2026, 11, 12))
    AlertSubscription.objects.create(
        event=AlertEvent.VENDOR_SCORE_DROPPED, channel="email", address="buyer@acme.example"
    )

    runs, errors = compute_together(2)

    assert errors == []
    assert len(runs) == 2
    assert sorted(run.created for run in runs) == [0, 1]
    assert VendorScore.objects.count() == 1
    assert AlertDelivery.objects.filter(event=AlertEvent.VENDOR_SCORE_DROPPED).count() == 1
