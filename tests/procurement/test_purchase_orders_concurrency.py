"""Two receipts recorded at once on one order line cannot pass its ordered quantity."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from billguard.domain.errors import RuleViolation
from billguard.procurement.models import PurchaseOrder, Receipt
from billguard.procurement.purchase_orders import purchase_order_approve
from billguard.procurement.receipts import receipt_record
from tests.procurement.ordering import make_order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="SQLite runs one writer at a time in any case"
)
def test_concurrent_receipts_stop_at_ordered_quantity():
    order = make_order()
    purchase_order_approve(order=order)
    order = PurchaseOrder.objects.get(pk=order.pk)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def receive() -> None:
        try:
            start.wait()
            receipt_record(
                order=order, line_number=1, quantity=Decimal(6), received_on=dt.date(2026, 10, 5)
            )
            outcomes.append("recorded")
        except RuleViolation:
            outcomes.append("rejected")
        finally:
            connection.close()

    threads = [threading.Thread(target=receive) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["recorded", "rejected"]
    assert Receipt.objects.get().quantity == Decimal(6)
