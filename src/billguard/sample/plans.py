"""The sample company as plain data, planned before anything is written to the database.

The planner draws every value from the seeded PRNG into these records; the writer then turns
them into registry records through the registry services. Codes and numbers are assigned after
planning, when the records are shuffled, so that fault carriers do not stand out by number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from billguard.registry.terms import VersionTerms


@dataclass
class BillToPlan:
    name: str
    street: str
    city: str
    postcode: str
    country: str
    tax_id: str
    contact_name: str
    contact_email: str
    subdivision: str = ""
    code: str = ""


@dataclass
class CustomerPlan:
    """A customer party; ``market`` names the seller entity that serves it (de or us)."""

    name: str
    country: str
    market: str
    tax_id: str
    postcode: str
    timezone: str
    bill_tos: list[BillToPlan]
    sales_tax_rate: Decimal | None = None
    dedicated: bool = False
    code: str = ""

    @property
    def main_bill_to(self) -> BillToPlan:
        return self.bill_tos[0]


@dataclass
class MilestonePlan:
    line_code: str
    bill_on: dt.date
    accepted_on: dt.date | None


@dataclass
class AmendmentPlan:
    """A change order; ``status`` is how far it got: drafted, signed or approved."""

    number: str
    effective_from: dt.date
    description: str
    changes: dict[str, Any]
    status: str
    signed_on: dt.date | None = None
    approved_on: dt.date | None = None
    apply_to_schedule: bool = True
    # A new signed revision of the contract's SOW comes with the amendment.
    new_sow_revision: bool = False
    # The amendment moves the contract to the customer's bill-to entity of this index.
    bill_to_index: int | None = None


@dataclass
class UsageRow:
    line_code: str
    service_date: dt.date
    quantity: Decimal


@dataclass
class TimesheetRow:
    line_code: str
    work_date: dt.date
    hours: Decimal
    person: str


@dataclass
class ContractPlan:
    """One contract: its first version's terms, schedule, amendments and activity.

    ``terms`` leaves the ids of the bill-to entity, price list and SOW empty; the writer fills
    them. ``schedule_starts_on`` None means the contract has no billing schedule here because
    another billing system drafts its invoices.
    """

    customer: CustomerPlan
    contract_type: str
    title: str
    terms: VersionTerms
    schedule_starts_on: dt.date | None
    bill_to_index: int = 0
    price_list_code: str = ""
    sow_signed_on: dt.date | None = None
    schedule_source: str = "registry"
    # Finance moves the schedule's price to each scheduled price change and price list change.
    apply_price_changes: bool = True
    milestones: list[MilestonePlan] = field(default_factory=list)
    amendments: list[AmendmentPlan] = field(default_factory=list)
    usage: list[UsageRow] = field(default_factory=list)
    timesheets: list[TimesheetRow] = field(default_factory=list)
    # How the contract became active: "gate" (through contract_activate), "imported" (in
    # force in the legacy system before the registry existed, so the gate was not applied),
    # or "draft" (waiting for approval of its bespoke terms).
    activation: str = "gate"
    # Months whose invoice the history leaves out (first days of the months).
    history_gaps: list[dt.date] = field(default_factory=list)
    # The name of the seeded fault this contract carries, empty for a regular contract. A
    # contract that only supports a fault has the fault's name and a suffix ("name/helper").
    role: str = ""
    number: str = ""

    @property
    def seller(self) -> str:
        return self.customer.market

    @property
    def bill_to(self) -> BillToPlan:
        return self.customer.bill_tos[self.bill_to_index]


@dataclass
class PurchaseOrderPlan:
    vendor_index: int
    market: str
    ordered_on: dt.date
    status: str
    lines: list[tuple[str, Decimal, Decimal, str]]
    number: str = ""


@dataclass
class VendorPlan:
    name: str
    country: str
    tax_id: str
    postcode: str
    code: str = ""


@dataclass
class Book:
    customers: list[CustomerPlan] = field(default_factory=list)
    contracts: list[ContractPlan] = field(default_factory=list)
    vendors: list[VendorPlan] = field(default_factory=list)
    purchase_orders: list[PurchaseOrderPlan] = field(default_factory=list)
    # A buyer that is not in the registry, named by an external draft.
    unknown_buyer: CustomerPlan | None = None
    # The contracts planned for each fault, in planned order, helpers included.
    fault_carriers: dict[str, list[ContractPlan]] = field(default_factory=dict)

    def carriers(self, role: str) -> list[ContractPlan]:
        """Contracts whose role is exactly ``role``, in book order."""
        return [c for c in self.contracts if c.role == role]
