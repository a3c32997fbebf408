"""Vendors of the sample company and our purchase orders to them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from billguard.sample import reference_data as ref
from billguard.sample.customers import CustomerPlanner
from billguard.sample.plans import Book, PurchaseOrderPlan, VendorPlan

# One vendor per 30 customers, within the sample's list of vendors.
CUSTOMERS_PER_VENDOR = 30
MIN_VENDORS = 4


def plan_vendors_and_orders(planner: CustomerPlanner, book: Book, customers: int) -> None:
    """Plan vendors and two to four purchase orders each, ordered in 2026."""
    rng = planner.rng
    count = max(MIN_VENDORS, min(len(ref.VENDORS), customers // CUSTOMERS_PER_VENDOR))
    for name, country, _, _ in ref.VENDORS[:count]:
        book.vendors.append(
            VendorPlan(
                name=name,
                country=country,
                tax_id=planner.unique_tax_id(country),
                postcode=f"{rng.randint(10000, 99999)}",
            )
        )

    for index, (_, country, service, gl_account) in enumerate(ref.VENDORS[:count]):
        for _ in range(rng.randint(2, 4)):
            lines = [
                (
                    f"{service}, {month}",
                    Decimal(rng.randint(1, 160)),
                    Decimal(rng.randrange(40, 400, 5)),
                    gl_account,
                )
                for month in rng.sample(ref.MONTH_NAMES, rng.randint(1, 3))
            ]
            book.purchase_orders.append(
                PurchaseOrderPlan(
                    vendor_index=index,
                    market="us" if country == "US" else "de",
                    ordered_on=dt.date(2026, rng.randint(1, 10), rng.randint(1, 28)),
                    status=rng.choice(("approved", "sent", "sent", "received", "closed")),
                    lines=lines,
                )
            )
