"""The contracts that carry the seeded faults, planned clean.

Each function plans the contracts one fault needs, with the shape the fault depends on (a
reverse-charge customer, an accepted milestone, a year-old contract with an uplift). They are
planned whether or not the fault is seeded, so the PRNG draws the same values either way and a
carrier whose fault is left out is an ordinary clean contract.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from billguard.registry.terms import PriceChangeTerms
from billguard.sample.calendar import RUN_MONTH, months_between
from billguard.sample.customers import EU_COUNTRIES
from billguard.sample.planner import Planner
from billguard.sample.plans import AmendmentPlan, ContractPlan, CustomerPlan, MilestonePlan

D = Decimal
CENT = D("0.01")


class CustomerPool:
    """The regular customers that carriers of contract-level faults are drawn from."""

    def __init__(self, customers: list[CustomerPlan], rng: random.Random) -> None:
        self.customers = customers
        self.rng = rng

    def pick(self, market: str, country: str = "") -> CustomerPlan:
        """Return a regular customer of ``market``; country "EU" is any EU country but Germany."""
        matching = [
            c
            for c in self.customers
            if c.market == market
            and (
                not country
                or c.country == country
                or (country == "EU" and c.country in EU_COUNTRIES)
            )
        ]
        return self.rng.choice(matching)


CarrierPlanner = Callable[[Planner, CustomerPool], list[ContractPlan]]


# Contract completeness


def plan_missing_contract_field(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    return [planner.subscription(pool.pick("de", "DE"), start=dt.date(2026, 6, 1))]


def prepare_missing_contract_field(plans: list[ContractPlan]) -> None:
    """Leave the escalation contact out of the terms of a contract imported from the legacy
    system, where it was in force before the registry's activation gate existed."""
    plans[0].terms.escalation_contact = ""
    plans[0].activation = "imported"


def plan_missing_sow(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    return [planner.services(pool.pick("us"), start=dt.date(2026, 7, 1), retainer=True)]


def prepare_missing_sow(plans: list[ContractPlan]) -> None:
    """Import the contract from the legacy system without its SOW."""
    plans[0].sow_signed_on = None
    plans[0].activation = "imported"


def plan_superseded_sow(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    return [planner.services(pool.pick("de", "DE"), start=dt.date(2026, 5, 1), roles=2)]


def plan_service_before_start(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    """Plan a contract from 10 November billed from the 1st, so its first invoice is prorated."""
    return [planner.subscription(pool.pick("de", "DE"), start=dt.date(2026, 11, 10), billing_day=1)]


# Parties


def plan_duplicate_customer(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    """Plan two customers with a contract each. The fault makes the second a copy of the first."""
    first = planner.customer("de", "DE", dedicated=True)
    second = planner.customer("de", "DE", dedicated=True)
    return [
        planner.subscription(first, start=dt.date(2026, 4, 1)),
        planner.subscription(second, start=dt.date(2026, 8, 1)),
    ]


def plan_invalid_tax_id(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    return [
        planner.subscription(
            planner.customer("de", "DE", dedicated=True), start=dt.date(2026, 7, 1)
        )
    ]


def plan_missing_tax_id(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    customer = planner.customer("de", "FR", dedicated=True)
    return [planner.subscription(customer, start=dt.date(2026, 6, 1))]


def plan_wrong_bill_to(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    customer = planner.customer("de", "DE", bill_tos=2, dedicated=True)
    return [planner.subscription(customer, start=dt.date(2026, 5, 1))]


def plan_missing_bill_to(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    return [planner.subscription(pool.pick("us"), start=dt.date(2026, 9, 1))]


def plan_archived_bill_to(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    return [
        planner.subscription(
            planner.customer("de", "DE", dedicated=True), start=dt.date(2026, 3, 1)
        )
    ]


# Pricing


def plan_amendment_not_applied(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    """Plan twelve more seats from 1 September, approved in August."""
    plan = planner.subscription(pool.pick("de", "DE"), start=dt.date(2026, 3, 1))
    seats = next(line for line in plan.terms.lines if line.line_code == "SEATS")
    assert seats.quantity is not None
    plan.amendments.append(
        AmendmentPlan(
            number="A1",
            effective_from=dt.date(2026, 9, 1),
            description="Seat expansion: 12 more users from September",
            changes={"lines": {"SEATS": {"quantity": str(seats.quantity + 12)}}},
            status="approved",
            signed_on=dt.date(2026, 8, 19),
            approved_on=dt.date(2026, 8, 25),
        )
    )
    return [plan]


def prepare_amendment_not_applied(plans: list[ContractPlan]) -> None:
    """Leave the schedule as it was after the approval, so the old seat count keeps billing."""
    for plan in plans:
        plan.amendments[0].apply_to_schedule = False


def plan_amendment_pending(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    return [planner.subscription(pool.pick("us"), start=dt.date(2026, 4, 1))]


def plan_missed_uplift(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    """Plan a contract from November 2025 with a 4 % platform fee uplift after one year."""
    plan = planner.subscription(pool.pick("de", "DE"), start=dt.date(2025, 11, 1))
    plan.terms.price_changes.append(
        PriceChangeTerms(
            line_code="PLATFORM",
            effective_on=dt.date(2026, 11, 1),
            kind="fixed_uplift",
            uplift_percent=D("4"),
        )
    )
    return [plan]


def prepare_missed_uplift(plans: list[ContractPlan]) -> None:
    for plan in plans:
        plan.apply_price_changes = False


def plan_schedule_price_differs(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    plan = planner.subscription(pool.pick("us"), start=dt.date(2026, 2, 1))
    plan.schedule_source = "legacy"
    return [plan]


def plan_schedule_quantity_differs(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    plan = planner.subscription(pool.pick("de", "EU"), start=dt.date(2026, 6, 1))
    plan.schedule_source = "legacy"
    return [plan]


def plan_unapproved_discount(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    return [planner.subscription(pool.pick("de", "DE"), start=dt.date(2026, 7, 1), discount=True)]


def plan_minimum_shortfall(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    return [planner.usage(pool.pick("us"), start=dt.date(2026, 6, 1), minimum=True)]


def plan_contract_ended(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    """Plan a six-month pilot that ended on 31 October 2026 without renewal."""
    plan = planner.subscription(pool.pick("de", "DE"), start=dt.date(2026, 5, 1))
    plan.terms.end_date = dt.date(2026, 10, 31)
    return [plan]


def plan_milestone_not_accepted(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    plan = planner.project(pool.pick("de", "DE"), start=dt.date(2026, 8, 1), milestones=3)
    plan.milestones = [
        MilestonePlan("M1", dt.date(2026, 9, 14), dt.date(2026, 9, 9)),
        MilestonePlan("M2", dt.date(2026, 11, 16), dt.date(2026, 10, 28)),
        MilestonePlan("M3", dt.date(2027, 1, 20), None),
    ]
    return [plan]


def plan_milestone_billed_twice(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    plan = planner.project(pool.pick("us"), start=dt.date(2026, 7, 1), milestones=2)
    plan.milestones = [
        MilestonePlan("M1", dt.date(2026, 9, 10), dt.date(2026, 9, 4)),
        MilestonePlan("M2", dt.date(2026, 12, 15), None),
    ]
    return [plan]


# Tax and accounting


def plan_wrong_tax_rate(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    plan = planner.subscription(pool.pick("de", "DE"), start=dt.date(2026, 4, 1))
    plan.schedule_source = "legacy"
    return [plan]


def plan_missing_exemption_reason(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    return [planner.subscription(pool.pick("de", "EU"), start=dt.date(2026, 8, 1))]


def plan_missing_gl_account(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    return [planner.subscription(pool.pick("us"), start=dt.date(2026, 5, 1))]


def plan_unmapped_gl_account(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    plan = planner.subscription(pool.pick("de", "DE"), start=dt.date(2026, 6, 1))
    plan.schedule_source = "legacy"
    return [plan]


def plan_wrong_currency(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    plan = planner.subscription(pool.pick("de", "DE"), start=dt.date(2026, 9, 1))
    plan.schedule_source = "legacy"
    return [plan]


# Duplicates, limits and coverage


def plan_period_already_invoiced(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    return [
        planner.subscription(
            planner.customer("de", "DE", dedicated=True), start=dt.date(2026, 6, 1)
        )
    ]


def plan_duplicate_legacy_invoice(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    """Plan a contract renewed on 1 November as a new contract with the same lines and PO.

    The predecessor ran from May to October, and the fault bills it once more for November.
    """
    customer = planner.customer("de", "DE", dedicated=True)
    predecessor = planner.subscription(customer, start=dt.date(2026, 5, 1))
    predecessor.terms.end_date = dt.date(2026, 10, 31)
    predecessor.role = "/predecessor"
    renewal = planner.subscription(customer, start=dt.date(2026, 11, 1))
    renewal.terms.lines = copy.deepcopy(predecessor.terms.lines)
    renewal.terms.customer_po = predecessor.terms.customer_po
    renewal.title = predecessor.title
    return [renewal, predecessor]


def plan_po_ceiling_exceeded(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    """Plan fixed monthly fees from September with a PO ceiling three years' fees deep."""
    plan = planner.subscription(
        planner.customer("de", "DE", dedicated=True), start=dt.date(2026, 9, 1)
    )
    plan.terms.po_ceiling = (_monthly_net(plan) * 36).quantize(D(1))
    return [plan]


def prepare_po_ceiling_exceeded(plans: list[ContractPlan]) -> None:
    """Lower the PO ceiling so that the history stays under it and November passes it.

    September and October are billed before November. The ceiling lies halfway between
    their gross total and the net total with November, so it is crossed whether the
    check counts amounts with or without VAT.
    """
    plan = plans[0]
    net = _monthly_net(plan)
    rate = plan.terms.tax_rate or D(0)
    gross = net + (net * rate / 100).quantize(CENT, ROUND_HALF_UP)
    months_before = len(months_between(plan.terms.effective_from, RUN_MONTH))
    assert months_before * gross < (months_before + 1) * net
    plan.terms.po_ceiling = ((months_before * gross + (months_before + 1) * net) / 2).quantize(CENT)


def plan_skipped_billing_period(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    return [planner.subscription(pool.pick("us"), start=dt.date(2026, 5, 1))]


def prepare_skipped_billing_period(plans: list[ContractPlan]) -> None:
    """Leave September out of the invoice history, as the legacy billing system did."""
    for plan in plans:
        plan.history_gaps.append(dt.date(2026, 9, 1))


# Controls


def plan_emergency_change_unreviewed(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    return [planner.subscription(pool.pick("de", "DE"), start=dt.date(2026, 5, 1))]


# External drafts


def plan_external_contract(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    """Plan a new contract that another billing system drafts, so it has no schedule here."""
    plan = planner.subscription(
        planner.customer("de", "DE", dedicated=True), start=dt.date(2026, 11, 1)
    )
    plan.schedule_starts_on = None
    return [plan]


def plan_clean_external_contract(planner: Planner) -> ContractPlan:
    plan = planner.subscription(planner.customer("us", dedicated=True), start=dt.date(2026, 11, 1))
    plan.schedule_starts_on = None
    return plan


def plan_nothing(planner: Planner, pool: CustomerPool) -> list[ContractPlan]:
    return []


def _monthly_net(plan: ContractPlan) -> Decimal:
    """Return the net amount of one month of a contract with fixed lines and no discount."""
    assert not plan.terms.discounts
    amounts = ((line.unit_price or D(0)) * (line.quantity or D(1)) for line in plan.terms.lines)
    return sum(amounts, D(0)).quantize(CENT)
