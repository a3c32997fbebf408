"""The regular (fault-free) part of the sample book: a mix of every contract shape.

The first contracts take one shape each from ``COVERAGE_SHAPES``. That way even a small book
has every line kind, cadence, billing day 29 to 31, amendment, uplift and price list change.
The rest are drawn by weight.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from billguard.registry.terms import PriceChangeTerms
from billguard.sample.calendar import RUN_MONTH, add_months
from billguard.sample.planner import Planner, boundaries_after
from billguard.sample.plans import AmendmentPlan, ContractPlan, CustomerPlan

D = Decimal
Shape = Callable[[Planner, CustomerPlan], ContractPlan]
# The last day that an amendment of a contract billed in arrears may take effect: the
# November run bills October's usage, which must fall under one version.
LAST_ARREARS_AMENDMENT = dt.date(2026, 10, 1)
LAST_ADVANCE_AMENDMENT = dt.date(2026, 11, 30)


def plan_regular_contracts(
    planner: Planner, customers: list[CustomerPlan], count: int
) -> list[ContractPlan]:
    """Plan ``count`` clean contracts; every customer gets one before any gets a second."""
    rng = planner.rng
    contracts = []
    for index in range(count):
        customer = customers[index] if index < len(customers) else rng.choice(customers)
        if index < len(COVERAGE_SHAPES):
            shape = COVERAGE_SHAPES[index]
        else:
            shape = rng.choices(RANDOM_SHAPES, weights=RANDOM_WEIGHTS)[0]
        if shape is bill_to_moving_subscription and len(customer.bill_tos) < 2:
            customer = next((c for c in customers if len(c.bill_tos) > 1), customer)
        plan = shape(planner, customer)
        # About a third of the schedules came over from the legacy billing system.
        if rng.random() < 0.3:
            plan.schedule_source = "legacy"
        contracts.append(plan)
    return contracts


# Subscriptions


def monthly_subscription(planner: Planner, customer: CustomerPlan) -> ContractPlan:
    rng = planner.rng
    day = rng.choice((1, 1, 1, 1, 1, 15, 28, 29, 30, 31))
    plan = planner.subscription(customer, billing_day=day, discount=rng.random() < 0.25)
    _maybe_end(planner, plan)
    if rng.random() < 0.15:
        add_seat_amendment(planner, plan)
    elif rng.random() < 0.06:
        add_drafted_amendment(plan)
    return plan


def subscription_on_day(day: int) -> Shape:
    def shape(planner: Planner, customer: CustomerPlan) -> ContractPlan:
        return planner.subscription(customer, billing_day=day)

    return shape


def quarterly_subscription(planner: Planner, customer: CustomerPlan) -> ContractPlan:
    day = planner.rng.choice((1, 1, 15))
    return planner.subscription(customer, cadence="quarterly", billing_day=day)


def yearly_subscription(planner: Planner, customer: CustomerPlan) -> ContractPlan:
    day = planner.rng.choice((1, 1, 31))
    return planner.subscription(customer, cadence="yearly", billing_day=day, seats=False)


def annual_uplift_subscription(planner: Planner, customer: CustomerPlan) -> ContractPlan:
    """Plan a contract started a year ago whose anniversary uplift is in the schedule."""
    start = planner.rng.choice((dt.date(2025, 11, 1), dt.date(2025, 12, 1)))
    plan = planner.subscription(customer, start=start, discount=planner.rng.random() < 0.3)
    add_uplift(planner, plan, "PLATFORM", add_months(start, 12))
    return plan


def ramp_subscription(planner: Planner, customer: CustomerPlan) -> ContractPlan:
    """Plan a contracted price step six months after the start, already in the schedule."""
    start = planner.rng.choice(tuple(dt.date(2026, month, 1) for month in range(2, 6)))
    plan = planner.subscription(customer, start=start)
    add_uplift(planner, plan, "SEATS", add_months(start, 6))
    return plan


def indexed_subscription(planner: Planner, customer: CustomerPlan) -> ContractPlan:
    """Plan an index-linked price change on 1 October 2026 with its index value recorded."""
    plan = planner.subscription(customer, start=dt.date(2026, 1, 1))
    plan.terms.price_changes.append(
        PriceChangeTerms(
            line_code="PLATFORM",
            effective_on=dt.date(2026, 10, 1),
            kind="index",
            index_name="Consumer price index"
            if customer.market == "us"
            else "Verbraucherpreisindex",
            index_base_value=D("100.0"),
            index_value=D("100") + D(planner.rng.randint(15, 40)) / 10,
        )
    )
    return plan


def auto_renewed_subscription(planner: Planner, customer: CustomerPlan) -> ContractPlan:
    """Plan a contract whose first term ended on 30 September 2026 and renewed for a year."""
    start = planner.rng.choice((dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)))
    plan = planner.subscription(customer, start=start)
    plan.terms.end_date = dt.date(2026, 9, 30)
    plan.terms.renewal_terms = "auto_renew"
    plan.terms.renewal_months = 12
    return plan


def ended_subscription(planner: Planner, customer: CustomerPlan) -> ContractPlan:
    """Plan a contract that ended on 31 August 2026 without renewal, and its schedule with it."""
    start = planner.rng.choice((dt.date(2026, 2, 1), dt.date(2026, 3, 1), dt.date(2026, 4, 1)))
    plan = planner.subscription(customer, start=start)
    plan.terms.end_date = dt.date(2026, 8, 31)
    return plan


def bill_to_moving_subscription(planner: Planner, customer: CustomerPlan) -> ContractPlan:
    """Plan an amendment that moves the invoices to the customer's second bill-to entity."""
    plan = planner.subscription(customer, start=planner.start_date("monthly", 1))
    if len(customer.bill_tos) > 1:
        # NOTE: schedule_apply_amendment moves the whole schedule to the new bill-to at once,
        # so a bill-to change is applied only once it is in effect, never ahead of time.
        effective = _amendment_date(planner, plan, arrears=False, future=False)
        if effective is not None:
            plan.amendments.append(
                AmendmentPlan(
                    number="A1",
                    effective_from=effective,
                    description="Invoices go to the subsidiary that took over the contract",
                    changes={},
                    status="approved",
                    signed_on=effective - dt.timedelta(days=12),
                    approved_on=effective - dt.timedelta(days=6),
                    bill_to_index=1,
                )
            )
    return plan


# Usage, services and projects


def usage_contract(planner: Planner, customer: CustomerPlan) -> ContractPlan:
    rng = planner.rng
    platform_fee = rng.random() < 0.5
    return planner.usage(
        customer, platform_fee=platform_fee, minimum=not platform_fee and rng.random() < 0.6
    )


def early_usage_contract(planner: Planner, customer: CustomerPlan) -> ContractPlan:
    """Plan usage from before the price list change of 1 July 2026, which the schedule follows."""
    start = planner.rng.choice((dt.date(2026, 3, 1), dt.date(2026, 4, 1), dt.date(2026, 5, 1)))
    return planner.usage(customer, start=start, platform_fee=True)


def minimum_usage_contract(planner: Planner, customer: CustomerPlan) -> ContractPlan:
    return planner.usage(customer, minimum=True)


def services_contract(planner: Planner, customer: CustomerPlan) -> ContractPlan:
    rng = planner.rng
    plan = planner.services(customer, retainer=rng.random() < 0.3, roles=rng.choice((1, 2)))
    if rng.random() < 0.15:
        add_rate_amendment(planner, plan)
    return plan


def quarterly_services(planner: Planner, customer: CustomerPlan) -> ContractPlan:
    start = planner.rng.choice((dt.date(2026, 4, 1), dt.date(2026, 7, 1)))
    return planner.services(customer, start=start, cadence="quarterly", retainer=True)


def services_with_new_sow(planner: Planner, customer: CustomerPlan) -> ContractPlan:
    plan = planner.services(customer, start=dt.date(2026, 3, 1), roles=2)
    add_rate_amendment(planner, plan)
    return plan


def project_contract(planner: Planner, customer: CustomerPlan) -> ContractPlan:
    rng = planner.rng
    return planner.project(
        customer, milestones=rng.randint(2, 4), time_and_materials=rng.random() < 0.7
    )


def milestone_only_project(planner: Planner, customer: CustomerPlan) -> ContractPlan:
    return planner.project(customer, milestones=3, time_and_materials=False)


# Amendments and price changes


def add_uplift(planner: Planner, plan: ContractPlan, line_code: str, effective_on: dt.date) -> None:
    percent = planner.rng.choice((D("3"), D("3.5"), D("4"), D("5")))
    plan.terms.price_changes.append(
        PriceChangeTerms(
            line_code=line_code,
            effective_on=effective_on,
            kind="fixed_uplift",
            uplift_percent=percent,
        )
    )


def add_seat_amendment(planner: Planner, plan: ContractPlan) -> None:
    """Add more seats from a billing-period start, possibly the first one after November."""
    effective = _amendment_date(planner, plan, arrears=False)
    seats = next((line for line in plan.terms.lines if line.line_code == "SEATS"), None)
    if effective is None or seats is None or seats.quantity is None:
        return
    added = planner.rng.randint(5, 40)
    plan.amendments.append(
        AmendmentPlan(
            number="A1",
            effective_from=effective,
            description=f"{added} more user seats",
            changes={"lines": {"SEATS": {"quantity": str(seats.quantity + added)}}},
            status="approved",
            signed_on=effective - dt.timedelta(days=10),
            approved_on=effective - dt.timedelta(days=4),
        )
    )


def add_rate_amendment(planner: Planner, plan: ContractPlan) -> None:
    """Add new hourly rates under a new signed SOW revision, effective by 1 October."""
    effective = _amendment_date(planner, plan, arrears=True)
    if effective is None:
        return
    changes: dict[str, dict[str, dict[str, str]]] = {"lines": {}}
    for line in plan.terms.lines:
        if line.kind == "time_and_materials" and line.unit_price is not None:
            changes["lines"][line.line_code] = {"unit_price": str(line.unit_price + 10)}
    plan.amendments.append(
        AmendmentPlan(
            number="A1",
            effective_from=effective,
            description="Rate card 2026 with SOW revision 2",
            changes=changes,
            status="approved",
            signed_on=effective - dt.timedelta(days=14),
            approved_on=effective - dt.timedelta(days=7),
            new_sow_revision=True,
        )
    )


def add_drafted_amendment(plan: ContractPlan) -> None:
    """Add a change still in negotiation, drafted and not signed, so nothing bills from it."""
    plan.amendments.append(
        AmendmentPlan(
            number="A1",
            effective_from=dt.date(2027, 1, 1),
            description="Longer payment terms requested by the customer",
            changes={"payment_terms_days": 60},
            status="drafted",
        )
    )


def _amendment_date(
    planner: Planner, plan: ContractPlan, *, arrears: bool, future: bool = True
) -> dt.date | None:
    """Pick a billing-period start after the contract's start, or the first one after November.

    Contracts billed in arrears change no later than 1 October, so that the November draft
    (October's usage and timesheets) falls under one version. ``future`` allows the first
    period start after the one that the November run bills.
    """
    terms = plan.terms
    assert terms.cadence and terms.billing_day
    last = LAST_ARREARS_AMENDMENT if arrears else LAST_ADVANCE_AMENDMENT
    if not future:
        last = RUN_MONTH
    starts = boundaries_after(
        terms.effective_from, terms.cadence, terms.billing_day, dt.date(2027, 12, 31)
    )
    candidates = [day for day in starts if day <= last]
    if future and not arrears:
        # The first billing period after those the November run bills, e.g. 1 December.
        candidates += [day for day in starts if day >= add_months(RUN_MONTH, 1)][:1]
    if not candidates:
        return None
    return planner.rng.choice(candidates)


def _maybe_end(planner: Planner, plan: ContractPlan) -> None:
    if planner.rng.random() < 0.2:
        plan.terms.end_date = planner.rng.choice((dt.date(2027, 6, 30), dt.date(2027, 12, 31)))


COVERAGE_SHAPES: tuple[Shape, ...] = (
    monthly_subscription,
    subscription_on_day(29),
    subscription_on_day(30),
    subscription_on_day(31),
    subscription_on_day(15),
    quarterly_subscription,
    yearly_subscription,
    annual_uplift_subscription,
    ramp_subscription,
    indexed_subscription,
    auto_renewed_subscription,
    ended_subscription,
    bill_to_moving_subscription,
    usage_contract,
    early_usage_contract,
    minimum_usage_contract,
    services_contract,
    quarterly_services,
    services_with_new_sow,
    project_contract,
    milestone_only_project,
)
RANDOM_SHAPES: tuple[Shape, ...] = (
    monthly_subscription,
    quarterly_subscription,
    yearly_subscription,
    annual_uplift_subscription,
    ramp_subscription,
    auto_renewed_subscription,
    ended_subscription,
    bill_to_moving_subscription,
    usage_contract,
    early_usage_contract,
    services_contract,
    quarterly_services,
    project_contract,
    milestone_only_project,
)
RANDOM_WEIGHTS = (30, 8, 4, 4, 3, 2, 2, 3, 12, 4, 15, 3, 8, 2)
