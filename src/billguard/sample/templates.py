"""The sample company's contract templates, and its one bespoke contract.

Every planned contract is written with the standard clauses of its type. The bespoke
contract is planned after the others without drawing from the PRNG. Its customer negotiated
other liquidated damages and termination rights, so it stays a draft waiting for the approval
of those deviations. It starts in December, so it changes nothing in the November run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from billguard.controls.templates import contract_template_set
from billguard.registry.terms import LineTerms, VersionTerms
from billguard.sample.planner import CURRENCY, GL_SERVICES, tax_treatment
from billguard.sample.plans import Book, ContractPlan

D = Decimal

_TERMINATION = (
    "Either party may terminate for a material breach not cured within 30 days of notice."
)


@dataclass(frozen=True)
class Clauses:
    escalation_clause: str
    liquidated_damages: str
    termination_rights: str


# The standard clauses of each contract type. Payment terms and cadence vary between the
# sample's contracts, so its templates set no standard for them.
STANDARD_CLAUSES: dict[str, Clauses] = {
    "subscription": Clauses(
        escalation_clause="Fees may rise once a year by at most the change in the consumer "
        "price index, with 60 days' notice.",
        liquidated_damages="None; service credits of at most 10 % of the monthly fee.",
        termination_rights=_TERMINATION,
    ),
    "services": Clauses(
        escalation_clause="Hourly rates may rise once a year by at most 5 %, with 60 days' notice.",
        liquidated_damages="None.",
        termination_rights=_TERMINATION,
    ),
    "usage": Clauses(
        escalation_clause="Unit prices follow the price list, which may change with 30 "
        "days' notice.",
        liquidated_damages="None; service credits of at most 10 % of the monthly usage.",
        termination_rights=_TERMINATION,
    ),
    "project": Clauses(
        escalation_clause="Milestone prices are fixed; changes are billed by the hour under "
        "a signed change request.",
        liquidated_damages="None.",
        termination_rights=_TERMINATION,
    ),
}

BESPOKE_START = dt.date(2026, 12, 1)


def write_templates() -> None:
    """Store the template of every contract type."""
    for contract_type, clauses in STANDARD_CLAUSES.items():
        contract_template_set(
            contract_type=contract_type,
            escalation_clause=clauses.escalation_clause,
            liquidated_damages=clauses.liquidated_damages,
            termination_rights=clauses.termination_rights,
        )


def with_standard_clauses(terms: VersionTerms, contract_type: str) -> VersionTerms:
    """Return ``terms`` with the standard clause of the type wherever they have none."""
    standard = STANDARD_CLAUSES[contract_type]
    return dataclasses.replace(
        terms,
        escalation_clause=terms.escalation_clause or standard.escalation_clause,
        liquidated_damages=terms.liquidated_damages or standard.liquidated_damages,
        termination_rights=terms.termination_rights or standard.termination_rights,
    )


def plan_bespoke_contract(book: Book) -> ContractPlan:
    """Plan a services contract from December with bespoke clauses, for the first regular
    customer of the German seller entity, numbered after the other contracts."""
    customer = next(c for c in book.customers if not c.dedicated and c.market == "de")
    bill_to = customer.main_bill_to
    category, rate, jurisdiction, reason = tax_treatment(customer)
    terms = VersionTerms(
        effective_from=BESPOKE_START,
        currency=CURRENCY[customer.market],
        cadence="monthly",
        billing_day=1,
        timezone=customer.timezone,
        tax_category=category,
        tax_rate=rate,
        tax_jurisdiction=jurisdiction,
        exemption_reason=reason,
        payment_terms_days=30,
        customer_po="PO-2026-BESPOKE",
        escalation_contact=f"{bill_to.contact_name} <{bill_to.contact_email}>",
        lines=[
            LineTerms(
                line_code="RETAINER",
                kind="recurring_fixed",
                description="Delivery management retainer, per month",
                unit_price=D("4500.00"),
                quantity=D(1),
                gl_account=GL_SERVICES,
            ),
            LineTerms(
                line_code="TM-SENIOR",
                kind="time_and_materials",
                description="Senior consultant, per hour",
                unit_code="HUR",
                unit_price=D("150.00"),
                gl_account=GL_SERVICES,
            ),
        ],
        liquidated_damages="0.5 % of the monthly retainer per day of delay of a deliverable, "
        "at most 10 %.",
        termination_rights="The customer may terminate for convenience with 30 days' notice.",
    )
    plan = ContractPlan(
        customer=customer,
        contract_type="services",
        title="Delivery management with service levels",
        terms=terms,
        schedule_starts_on=BESPOKE_START,
        sow_signed_on=dt.date(2026, 10, 27),
        activation="draft",
        role="bespoke",
    )
    plan.number = f"C-{1001 + len(book.contracts)}"
    return plan
