"""The sample company's lines priced from vendor costs: one pass-through, one cost-plus.

Both contracts are planned as fault carriers, so the PRNG draws them whether or not the fault
is seeded. The writer links their licence line to an order line of the first sample vendor:
the at-cost contract at the price itself, the cost-plus one at 25 % margin. The seeded fault
then amends the cost-plus order to a higher price after the invoice history, as the vendor's
price increase of November, so the run holds that contract's draft with
PASS_THROUGH_COST_CHANGED and leaves the at-cost one alone.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction

from billguard.procurement.models import (
    CostLink,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderLineChange,
)
from billguard.procurement.passthrough import cost_link_create
from billguard.procurement.signals import purchase_order_line_repriced
from billguard.registry.models import Party
from billguard.sample.fault_carriers import CustomerPool
from billguard.sample.planner import Planner
from billguard.sample.plans import Book, ContractPlan

if TYPE_CHECKING:
    from billguard.sample.writer import WrittenCompany

D = Decimal
FAULT_NAME = "pass_through_cost_changed"
# The role suffix of the clean at-cost contract among the fault's carriers.
AT_COST_ROLE = "_at_cost"
LINE_CODE = "PLATFORM"
MARGIN_PERCENT = D("25")
# The vendor's increase of the cost-plus order, in percent, rounded to the cent.
PRICE_INCREASE_PERCENT = D("6")
ORDERED_ON = dt.date(2026, 2, 20)
AMENDED_ON_REASON = "vendor price increase from November 2026"


def plan_pass_through(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    """Plan the cost-plus contract (the fault's subject) and the clean at-cost contract.

    Both bill one licence line a month, resold from the vendor.
    """
    cost_plus = planner.subscription(pool.pick("de", "DE"), start=dt.date(2026, 3, 1), seats=False)
    at_cost = planner.subscription(pool.pick("us"), start=dt.date(2026, 4, 1), seats=False)
    at_cost.role = AT_COST_ROLE
    return [cost_plus, at_cost]


def write_cost_links(book: Book, company: WrittenCompany) -> None:
    """Order each carrier's licence from the first vendor and link the line to the order."""
    vendor = Party.objects.filter(kind=Party.Kind.VENDOR).order_by("code").first()
    if vendor is None:
        return
    for plan in book.fault_carriers.get(FAULT_NAME, []):
        contract = company.contracts[plan.number]
        price = next(line.unit_price for line in plan.terms.lines if line.line_code == LINE_CODE)
        assert price is not None
        at_cost = plan.role.endswith(AT_COST_ROLE)
        # The licence prices are whole multiples of 50, so cost x 1.25 gives them back exactly.
        cost = price if at_cost else price * 100 / (100 + MARGIN_PERCENT)
        order = PurchaseOrder.objects.create(
            number=f"BPO-PT-{plan.number}",
            vendor=vendor,
            seller_entity=company.sellers[plan.customer.market],
            currency=plan.terms.currency,
            ordered_on=ORDERED_ON,
            status=PurchaseOrder.Status.SENT,
        )
        line = PurchaseOrderLine.objects.create(
            purchase_order=order,
            line_number=1,
            description=f"Licence resold on contract {plan.number}, per month",
            quantity=D(12),
            unit_price=cost,
            gl_account="6000",
            category="software licences",
            kind=PurchaseOrderLine.Kind.SERVICE,
            expected_on=ORDERED_ON + dt.timedelta(days=30),
        )
        cost_link_create(
            contract=contract,
            line_code=LINE_CODE,
            basis=CostLink.Basis.AT_COST if at_cost else CostLink.Basis.COST_PLUS,
            vendor=vendor,
            po_line=line,
            margin_percent=None if at_cost else MARGIN_PERCENT,
        )


def raise_vendor_price(plans: list[ContractPlan]) -> None:
    """Amend the cost-plus contract's order to a higher unit price, as the order amendment
    service does: the change row, the next revision and the repricing signal."""
    subject = next(plan for plan in plans if not plan.role.endswith(AT_COST_ROLE))
    link = CostLink.objects.select_related("po_line__purchase_order").get(
        contract__number=subject.number, line_code=LINE_CODE
    )
    assert link.po_line is not None
    increase = link.po_line.unit_price * PRICE_INCREASE_PERCENT / 100
    _order_line_reprice(link.po_line, (link.po_line.unit_price + increase).quantize(D("0.01")))


@transaction.atomic
def _order_line_reprice(line: PurchaseOrderLine, new_price: Decimal) -> None:
    order = line.purchase_order
    old_price = line.unit_price
    order.revision += 1
    order.save(update_fields=["revision"])
    line.unit_price = new_price
    line.save(update_fields=["unit_price"])
    PurchaseOrderLineChange.objects.create(
        line=line,
        revision=order.revision,
        field="unit_price",
        old_value=old_price,
        new_value=new_price,
        reason=AMENDED_ON_REASON,
    )
    purchase_order_line_repriced.send(
        sender=PurchaseOrderLine,
        line=line,
        old_price=old_price,
        new_price=new_price,
        reference=f"{order.number} rev {order.revision}",
        by=None,
    )
