"""The sample company's purchase orders: described lines, receipts, a default tolerance and
one order typed twice, which its approval holds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum

from billguard.procurement.models import (
    MatchTolerance,
    ProcurementFinding,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
)
from billguard.procurement.purchase_orders import order_fully_received
from billguard.sample.company import generate_sample_company

pytestmark = pytest.mark.django_db


def test_sample_orders_receipts_and_duplicate(tmp_path):
    generate_sample_company(customers=40, contracts=90, external_drafts_dir=tmp_path)

    lines = PurchaseOrderLine.objects.select_related("purchase_order")
    assert not lines.filter(category="").exists()
    assert not lines.filter(expected_on__isnull=True).exists()
    assert all(line.expected_on >= line.purchase_order.ordered_on for line in lines)  # type: ignore[operator]
    received_lines = lines.filter(receipts__isnull=False).distinct().count()
    assert received_lines > lines.count() / 2
    over = lines.annotate(received=Sum("receipts__quantity")).filter(received__gt=Decimal(0))
    assert all(line.received <= line.quantity for line in over)  # type: ignore[attr-defined]
    for order in PurchaseOrder.objects.exclude(status="held"):
        fully = order.status in ("received", "closed")
        assert order_fully_received(order) is fully, order.number
    assert Receipt.objects.exists()

    default = MatchTolerance.objects.get(vendor=None, category="")
    assert default.unit_price_percent == Decimal(1)

    held = PurchaseOrder.objects.get(status="held")
    codes = set(
        ProcurementFinding.objects.filter(purchase_order=held).values_list("code", flat=True)
    )
    assert "PO_DUPLICATE_SUSPECTED" in codes
    finding = ProcurementFinding.objects.get(purchase_order=held, code="PO_DUPLICATE_SUSPECTED")
    original = PurchaseOrder.objects.get(number=finding.evidence["duplicate_of"])
    assert original.vendor_id == held.vendor_id
    assert original.seller_entity_id != held.seller_entity_id
