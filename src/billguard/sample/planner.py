"""The planner of contracts of every shape, drawn from one seeded PRNG.

Every value comes from ``self.rng`` in a fixed order, so one seed gives one company. Contracts
are clean when planned: their schedules match the signed terms, usage and timesheets cover
every month, milestones are accepted before they are billed. Seeded faults break them later.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from billguard.registry.terms import DiscountTerms, LineTerms, VersionTerms
from billguard.sample.activity import timesheet_rows, usage_rows
from billguard.sample.calendar import ACTIVITY_END, add_months, billing_boundary
from billguard.sample.customers import CustomerPlanner
from billguard.sample.plans import (
    ContractPlan,
    CustomerPlan,
    MilestonePlan,
)
from billguard.sample.price_lists import PRICE_LIST_CODE, USAGE_PRODUCTS, UsageProduct

D = Decimal

CURRENCY = {"de": "EUR", "us": "USD"}
GERMAN_VAT_RATE = D("19")
REVERSE_CHARGE_REASON = (
    "Reverse charge: the customer accounts for the VAT (Directive 2006/112/EC, Art. 196)"
)

GL_SUBSCRIPTIONS = "4000"
GL_SERVICES = "4100"
GL_USAGE = "4200"
GL_PROJECTS = "4300"

# Monthly contracts start in these months of 2026, later months more often as the company grew.
START_MONTHS = tuple(dt.date(2026, month, 1) for month in range(1, 12))
START_WEIGHTS = (2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 3)


class Planner(CustomerPlanner):
    """Source of customers and of contracts of every shape, all drawn from ``rng``."""

    # Contract terms shared by every contract type

    def terms(
        self,
        customer: CustomerPlan,
        *,
        start: dt.date,
        cadence: str,
        billing_day: int,
        customer_po: bool = True,
    ) -> VersionTerms:
        rng = self.rng
        bill_to = customer.main_bill_to
        category, rate, jurisdiction, reason = tax_treatment(customer)
        return VersionTerms(
            effective_from=start,
            currency=CURRENCY[customer.market],
            cadence=cadence,
            billing_day=billing_day,
            timezone=customer.timezone,
            tax_category=category,
            tax_rate=rate,
            tax_jurisdiction=jurisdiction,
            exemption_reason=reason,
            payment_terms_days=rng.choice((14, 30, 30, 30, 45, 60)),
            customer_po=self.purchase_order_number(customer.market) if customer_po else "",
            escalation_contact=f"{bill_to.contact_name} <{bill_to.contact_email}>",
        )

    def start_date(self, cadence: str, billing_day: int) -> dt.date:
        """Draw a start on a billing-period boundary, so that the first period is a whole one."""
        rng = self.rng
        if cadence == "yearly":
            # Yearly contracts bill in their start month; those from November bill in the demo.
            month = rng.choice((dt.date(2025, 11, 1), dt.date(2025, 12, 1), *START_MONTHS))
        else:
            month = rng.choices(START_MONTHS, weights=START_WEIGHTS)[0]
        return billing_boundary(month, billing_day)

    def activity_start(self) -> dt.date:
        """Draw a start month for arrears billing, which needs activity before November."""
        return self.rng.choices(START_MONTHS[:10], weights=START_WEIGHTS[:10])[0]

    # Contract types

    def subscription(
        self,
        customer: CustomerPlan,
        *,
        start: dt.date | None = None,
        cadence: str = "monthly",
        billing_day: int = 1,
        discount: bool = False,
        seats: bool = True,
    ) -> ContractPlan:
        """Plan recurring fixed fees: a platform fee and, usually, user seats."""
        rng = self.rng
        months = {"monthly": 1, "quarterly": 3, "yearly": 12}[cadence]
        per = {"monthly": "month", "quarterly": "quarter", "yearly": "year"}[cadence]
        start = start or self.start_date(cadence, billing_day)
        terms = self.terms(customer, start=start, cadence=cadence, billing_day=billing_day)
        product = rng.choice(
            (
                "Analytics platform",
                "Workflow suite",
                "Data pipeline",
                "Security monitoring",
                "Field service app",
            )
        )
        terms.lines.append(
            LineTerms(
                line_code="PLATFORM",
                kind="recurring_fixed",
                description=f"{product} licence, per {per}",
                unit_price=D(rng.randrange(250, 4000, 50)) * months,
                quantity=D(1),
                gl_account=GL_SUBSCRIPTIONS,
            )
        )
        if seats:
            terms.lines.append(
                LineTerms(
                    line_code="SEATS",
                    kind="recurring_fixed",
                    description=f"{product} user seats, per {per}",
                    unit_price=D(rng.randrange(12, 96)) * months,
                    quantity=D(rng.randrange(5, 200)),
                    gl_account=GL_SUBSCRIPTIONS,
                )
            )
        if discount and seats:
            terms.discounts.append(
                DiscountTerms(
                    percent=rng.choice((D("5"), D("7.5"), D("10"), D("12"), D("15"))),
                    line_code="SEATS",
                    approval_reference=f"DA-2026-{rng.randint(100, 999)}",
                )
            )
            terms.approved_discounts = True
        return ContractPlan(
            customer=customer,
            contract_type="subscription",
            title=f"{product} subscription",
            terms=terms,
            schedule_starts_on=start,
            sow_signed_on=start - dt.timedelta(days=rng.randint(5, 20)),
        )

    def usage(
        self,
        customer: CustomerPlan,
        *,
        start: dt.date | None = None,
        platform_fee: bool = False,
        minimum: bool = False,
    ) -> ContractPlan:
        """Plan a usage line priced from the price list, billed monthly in arrears."""
        rng = self.rng
        start = start or self.activity_start()
        terms = self.terms(customer, start=start, cadence="monthly", billing_day=1)
        product = rng.choice(USAGE_PRODUCTS)
        terms.lines.append(
            LineTerms(
                line_code="USAGE",
                kind="usage",
                description=product.description,
                unit_code=product.unit_code,
                product_code=product.code,
                gl_account=GL_USAGE,
            )
        )
        if platform_fee:
            terms.lines.append(
                LineTerms(
                    line_code="PLATFORM",
                    kind="recurring_fixed",
                    description="Platform access, per month",
                    unit_price=D(rng.randrange(100, 1500, 50)),
                    quantity=D(1),
                    gl_account=GL_SUBSCRIPTIONS,
                )
            )
        plan = ContractPlan(
            customer=customer,
            contract_type="usage",
            title=f"{product.description.split(',')[0]} on demand",
            terms=terms,
            schedule_starts_on=start,
            price_list_code=PRICE_LIST_CODE[customer.market],
            sow_signed_on=start - dt.timedelta(days=rng.randint(5, 20)),
        )
        plan.usage = usage_rows(rng, "USAGE", start, ACTIVITY_END, product.reading_range)
        if minimum:
            terms.minimum_commitment = self._minimum_for(plan, product)
        return plan

    def services(
        self,
        customer: CustomerPlan,
        *,
        start: dt.date | None = None,
        cadence: str = "monthly",
        retainer: bool = False,
        roles: int = 1,
    ) -> ContractPlan:
        """Plan time and materials under a signed SOW, optionally with a monthly retainer."""
        rng = self.rng
        if start is None:
            start = (
                self.start_date("quarterly", 1) if cadence == "quarterly" else self.activity_start()
            )
        terms = self.terms(customer, start=start, cadence=cadence, billing_day=1)
        base_rate = 95 if customer.market == "de" else 110
        for code, label in (("TM-SENIOR", "Senior consultant"), ("TM-CONSULTANT", "Consultant"))[
            :roles
        ]:
            rate = D(rng.randrange(base_rate, base_rate + 90, 5)) + (
                D(25) if code == "TM-SENIOR" else 0
            )
            terms.lines.append(
                LineTerms(
                    line_code=code,
                    kind="time_and_materials",
                    description=f"{label}, per hour",
                    unit_code="HUR",
                    unit_price=rate,
                    gl_account=GL_SERVICES,
                )
            )
        if retainer:
            terms.lines.append(
                LineTerms(
                    line_code="RETAINER",
                    kind="recurring_fixed",
                    description="Advisory retainer, per month"
                    if cadence == "monthly"
                    else "Advisory retainer, per quarter",
                    unit_price=D(rng.randrange(1000, 6000, 250))
                    * (3 if cadence == "quarterly" else 1),
                    quantity=D(1),
                    gl_account=GL_SERVICES,
                )
            )
        plan = ContractPlan(
            customer=customer,
            contract_type="services",
            title=rng.choice(
                (
                    "Data platform consulting",
                    "Cloud migration services",
                    "Managed analytics services",
                    "Security advisory",
                )
            ),
            terms=terms,
            schedule_starts_on=start,
            sow_signed_on=start - dt.timedelta(days=rng.randint(5, 20)),
        )
        for line in terms.lines:
            if line.kind == "time_and_materials":
                plan.timesheets += timesheet_rows(rng, line.line_code, start, ACTIVITY_END)
        return plan

    def project(
        self,
        customer: CustomerPlan,
        *,
        start: dt.date | None = None,
        milestones: int = 3,
        time_and_materials: bool = True,
    ) -> ContractPlan:
        """Plan fixed-price milestones under a SOW, with change requests billed by the hour."""
        rng = self.rng
        start = start or self.activity_start()
        terms = self.terms(customer, start=start, cadence="monthly", billing_day=1)
        phases = (
            "Discovery and design",
            "Build and configuration",
            "Data migration",
            "Go-live and hypercare",
        )
        bill_on = start + dt.timedelta(days=rng.randint(20, 40))
        plan = ContractPlan(
            customer=customer,
            contract_type="project",
            title=rng.choice(
                (
                    "ERP rollout",
                    "Data warehouse build",
                    "Customer portal",
                    "Analytics implementation",
                )
            ),
            terms=terms,
            schedule_starts_on=start,
            sow_signed_on=start - dt.timedelta(days=rng.randint(5, 20)),
        )
        for index in range(milestones):
            code = f"M{index + 1}"
            terms.lines.append(
                LineTerms(
                    line_code=code,
                    kind="milestone",
                    description=f"Milestone {index + 1}: {phases[index]}",
                    unit_price=D(rng.randrange(4000, 30000, 500)),
                    quantity=D(1),
                    gl_account=GL_PROJECTS,
                )
            )
            plan.milestones.append(
                MilestonePlan(code, bill_on, _acceptance_date(rng, start, bill_on))
            )
            bill_on += dt.timedelta(days=rng.randint(35, 75))
        if time_and_materials:
            terms.lines.append(
                LineTerms(
                    line_code="TM-CHANGE",
                    kind="time_and_materials",
                    description="Change requests, per hour",
                    unit_code="HUR",
                    unit_price=D(rng.randrange(110, 190, 5)),
                    gl_account=GL_SERVICES,
                )
            )
            plan.timesheets = timesheet_rows(rng, "TM-CHANGE", start, ACTIVITY_END)
        return plan

    def _minimum_for(self, plan: ContractPlan, product: UsageProduct) -> Decimal:
        """Return half the smallest monthly usage amount, so that every clean month clears it."""
        totals: dict[dt.date, Decimal] = {}
        for row in plan.usage:
            month = row.service_date.replace(day=1)
            price = product.price_on(plan.seller, month)
            totals[month] = totals.get(month, D(0)) + row.quantity * price
        smallest = min(totals.values())
        return (smallest / 2).quantize(D(1))


def tax_treatment(customer: CustomerPlan) -> tuple[str, Decimal | None, str, str]:
    """Return the VAT category, rate, jurisdiction and exemption reason of ``customer``."""
    bill_to = customer.main_bill_to
    if customer.market == "us":
        return "S", customer.sales_tax_rate, f"US-{bill_to.subdivision}", ""
    if customer.country == "DE":
        return "S", GERMAN_VAT_RATE, "DE", ""
    return "AE", D("0"), customer.country, REVERSE_CHARGE_REASON


def boundaries_after(
    start: dt.date, cadence: str, billing_day: int, until: dt.date
) -> list[dt.date]:
    """Return the billing-period starts after ``start`` up to and including ``until``.

    ``start`` is the schedule's first day. Quarters and years count from its month, as the
    billing run's periods do.
    """
    step = {"monthly": 1, "quarterly": 3, "yearly": 12}[cadence]
    found: list[dt.date] = []
    month = start.replace(day=1)
    while True:
        boundary = billing_boundary(month, billing_day)
        if boundary > until:
            return found
        if boundary > start:
            found.append(boundary)
        month = add_months(month, step)


def _acceptance_date(rng: random.Random, start: dt.date, bill_on: dt.date) -> dt.date | None:
    """Return the acceptance date of a milestone due by the end of the demo month, else None.

    Those billed in November 2026 were accepted by the as-of date, 1 November.
    """
    if bill_on >= dt.date(2026, 12, 1):
        return None
    accepted = bill_on - dt.timedelta(days=rng.randint(1, 7))
    accepted = min(accepted, dt.date(2026, 10, 31))
    return max(accepted, start)
