"""The deterministic sample company that ``billguard demo`` bills and checks.

A services business with a German GmbH (EUR, 19 % VAT, reverse charge for EU customers) and a
US Inc. (USD, the state sales tax entered on each contract), customers, contracts of every
line kind and cadence, amendments, SOWs, price lists, usage, timesheets, milestones, vendors
and purchase orders, a year of issued invoices, and one user per role (see sample/users.py).
Faults are seeded into the source data; each SeededFault names the contract or external draft
where the November run must find it. Requests that wait for approval, and a delegation, show
the controls at work without changing what is billed (see sample/controls.py).

Every value comes from ``random.Random(seed)`` and the fixed as-of date, so one seed gives the
same company on every machine and every day.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from billguard.billing.models import Invoice
from billguard.controls.policy_yaml import policy_seed
from billguard.domain.errors import InvalidInput, RuleViolation
from billguard.procurement.models import PurchaseOrder
from billguard.registry.models import (
    Amendment,
    Contract,
    ContractVersion,
    Document,
    Party,
    SellerEntity,
    Timesheet,
    UsageRecord,
)
from billguard.sample.book import COVERAGE_SHAPES, plan_regular_contracts
from billguard.sample.calendar import AS_OF as SAMPLE_AS_OF
from billguard.sample.controls import controls_state_create
from billguard.sample.delivery import write_invoice_delivery_setup
from billguard.sample.external import write_external_drafts
from billguard.sample.fault_carriers import CustomerPool, plan_clean_external_contract
from billguard.sample.faults import FAULT_NAMES, FAULTS, SeededFault, seeded_faults
from billguard.sample.history import issue_history
from billguard.sample.planner import Planner
from billguard.sample.plans import Book, CustomerPlan
from billguard.sample.receivables import sample_receivables_create
from billguard.sample.templates import plan_bespoke_contract
from billguard.sample.users import sample_passwords_set, sample_users_create
from billguard.sample.vendors import plan_vendors_and_orders
from billguard.sample.writer import SELLER_CODES, write_book

AS_OF: dt.date = SAMPLE_AS_OF
PERIOD: str = "2026-11"
SEED: int = 20261101

# Customers that the fault carriers own alone, because their fault is on the party, the
# bill-to entity, the PO or the invoices of the party (two for the duplicate customer).
DEDICATED_CUSTOMERS = 11
MIN_REGULAR_CUSTOMERS = 3


@dataclass
class SampleSummary:
    """Record counts of the generated company, its seeded faults and its external drafts."""

    sellers: int
    customers: int
    vendors: int
    contracts: int
    versions: int
    amendments: int
    documents: int
    usage_records: int
    timesheets: int
    purchase_orders: int
    history_invoices: int
    seeded_faults: list[SeededFault] = field(default_factory=list)
    external_drafts: list[Path] = field(default_factory=list)


def sample_company_exists() -> bool:
    """Return True when this database already contains the sample company's seller entities."""
    return SellerEntity.objects.filter(code__in=SELLER_CODES.values()).exists()


@transaction.atomic
def generate_sample_company(
    *,
    seed: int = SEED,
    customers: int = 300,
    contracts: int = 800,
    faults: Iterable[str] | None = None,
    external_drafts_dir: Path,
) -> SampleSummary:
    """Write the sample company into an empty database, all of it in one transaction.

    ``faults`` names the seeded faults (see FAULT_NAMES); None seeds all of them. The legacy
    system's external drafts are written into ``external_drafts_dir``. Raises InvalidInput for
    an unknown fault name or a book too small to hold every fault carrier, and RuleViolation
    when the sample company already exists.
    """
    names = _fault_names(faults)
    if sample_company_exists():
        raise RuleViolation(
            "the sample company already exists in this database.",
            fix="Use a new database, or keep the sample company that is there.",
        )
    book = plan_company(random.Random(seed), customers=customers, contracts=contracts)
    for fault in FAULTS:
        if fault.name in names and fault.prepare is not None:
            fault.prepare(book.fault_carriers[fault.name])

    # An empty policy gets the default one, so the pending requests need its approvals.
    policy_seed()
    sample_users_create()
    sample_passwords_set()
    write_book(book)
    write_invoice_delivery_setup()
    history_invoices = issue_history(book)
    receivables = sample_receivables_create(book)
    for fault in FAULTS:
        if fault.name in names and fault.change is not None:
            fault.change(book.fault_carriers[fault.name])
    controls_state_create(book)
    drafts = write_external_drafts(Path(external_drafts_dir), book, names)

    return SampleSummary(
        sellers=SellerEntity.objects.filter(code__in=SELLER_CODES.values()).count(),
        customers=Party.objects.filter(kind=Party.Kind.CUSTOMER).count(),
        vendors=Party.objects.filter(kind=Party.Kind.VENDOR).count(),
        contracts=Contract.objects.count(),
        versions=ContractVersion.objects.count(),
        amendments=Amendment.objects.count(),
        documents=Document.objects.count(),
        usage_records=UsageRecord.objects.count(),
        timesheets=Timesheet.objects.count(),
        purchase_orders=PurchaseOrder.objects.count(),
        history_invoices=history_invoices + receivables.documents_issued + _legacy_invoice_count(),
        seeded_faults=seeded_faults(book, names),
        external_drafts=drafts,
    )


def plan_company(rng: random.Random, *, customers: int, contracts: int) -> Book:
    """Plan the whole company from ``rng``: customers, fault carriers, regular contracts,
    and one bespoke contract beyond ``contracts`` that waits for approval.

    The carriers of every fault are planned whatever faults are seeded, so the PRNG draws the
    same sequence and leaving a fault out changes nothing but that fault.
    """
    regular_count = customers - DEDICATED_CUSTOMERS
    if regular_count < MIN_REGULAR_CUSTOMERS:
        raise InvalidInput(
            f"{customers} customers are too few for the sample company.",
            place="customers",
            value=customers,
            fix=f"Ask for at least {DEDICATED_CUSTOMERS + MIN_REGULAR_CUSTOMERS} customers.",
        )
    planner = Planner(rng)
    regular_customers = [_regular_customer(planner, index) for index in range(regular_count)]
    pool = CustomerPool(regular_customers, rng)

    book = Book()
    for fault in FAULTS:
        plans = fault.plan(planner, pool)
        for plan in plans:
            plan.role = fault.name + plan.role
        book.fault_carriers[fault.name] = plans
    clean_external = plan_clean_external_contract(planner)
    clean_external.role = "external_clean"
    carriers = [plan for plans in book.fault_carriers.values() for plan in plans]
    carriers.append(clean_external)
    book.unknown_buyer = planner.customer("de", "DE")

    minimum = len(carriers) + len(COVERAGE_SHAPES)
    if contracts < minimum:
        raise InvalidInput(
            f"{contracts} contracts are too few for the sample company.",
            place="contracts",
            value=contracts,
            fix=f"Ask for at least {minimum} contracts: one per fault carrier and shape.",
        )
    regular = plan_regular_contracts(planner, regular_customers, contracts - len(carriers))

    book.contracts = carriers + regular
    dedicated = _unique([plan.customer for plan in carriers if plan.customer.dedicated])
    assert len(dedicated) == DEDICATED_CUSTOMERS, len(dedicated)
    book.customers = regular_customers + dedicated
    plan_vendors_and_orders(planner, book, customers)
    _assign_codes(rng, book)
    book.contracts.append(plan_bespoke_contract(book))
    return book


def _regular_customer(planner: Planner, index: int) -> CustomerPlan:
    """Plan a regular customer. The first three are German, French and US, so both markets and
    reverse charge appear in every book."""
    if index < 3:
        market, country = (("de", "DE"), ("de", "FR"), ("us", "US"))[index]
    else:
        market = "us" if planner.rng.random() < 0.4 else "de"
        country = None
    # Every fifth customer has a second bill-to entity, such as a subsidiary.
    return planner.customer(market, country, bill_tos=2 if index % 5 == 3 else 1)


def _assign_codes(rng: random.Random, book: Book) -> None:
    """Shuffle, then number contracts, customers, bill-to entities, vendors and orders."""
    rng.shuffle(book.contracts)
    for index, plan in enumerate(book.contracts):
        plan.number = f"C-{1001 + index}"
    rng.shuffle(book.customers)
    for index, customer in enumerate(book.customers, start=1):
        customer.code = f"CUST-{index:04d}"
        for position, bill_to in enumerate(customer.bill_tos, start=1):
            bill_to.code = f"{customer.code}-B{position}"
    for index, vendor in enumerate(book.vendors, start=1):
        vendor.code = f"VEND-{index:03d}"
    book.purchase_orders.sort(key=lambda order: (order.ordered_on, order.vendor_index))
    for index, order in enumerate(book.purchase_orders, start=1):
        order.number = f"BPO-{order.ordered_on.year}-{index:04d}"


def _fault_names(faults: Iterable[str] | None) -> set[str]:
    if faults is None:
        return set(FAULT_NAMES)
    names = set(faults)
    unknown = names - set(FAULT_NAMES)
    if unknown:
        raise InvalidInput(
            f"unknown sample fault(s): {', '.join(sorted(unknown))}.",
            place="faults",
            value=sorted(unknown),
            fix=f"Use names from: {', '.join(FAULT_NAMES)}.",
        )
    return names


def _legacy_invoice_count() -> int:
    """Invoices the fault changes issued as the legacy system (draft keys legacy:...)."""
    return Invoice.objects.filter(draft_key__startswith="legacy:").count()


def _unique(customers: list[CustomerPlan]) -> list[CustomerPlan]:
    seen: list[CustomerPlan] = []
    for customer in customers:
        if not any(customer is other for other in seen):
            seen.append(customer)
    return seen
