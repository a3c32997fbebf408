"""Deterministic builders of registry records for tests: explicit values, no randomness.

``make_contract`` builds a clean active contract whose drafts pass every check; a test then
breaks exactly the term it is about.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from billguard.billing.drafting import DraftPlan, draft_contract
from billguard.billing.selectors import load_draft_sources
from billguard.checks.context import CheckContext, Draft
from billguard.checks.selectors import ContextRequest, load_contexts
from billguard.domain.periods import parse_period
from billguard.registry.activation import ActivationBlocked
from billguard.registry.models import (
    BillToEntity,
    Contract,
    Document,
    GLAccount,
    Party,
    SellerEntity,
)
from billguard.registry.services.contracts import contract_activate, contract_create
from billguard.registry.services.documents import document_store
from billguard.registry.services.entities import gl_account_create, seller_entity_create
from billguard.registry.services.parties import bill_to_create, party_create
from billguard.registry.services.schedules import schedule_create_from_version
from billguard.registry.terms import LineTerms, VersionTerms
from billguard.sample.pdf import text_pdf

D = Decimal


def make_seller(code: str = "acme-de") -> SellerEntity:
    existing = SellerEntity.objects.filter(code=code).first()
    if existing is not None:
        return existing
    return seller_entity_create(
        code=code,
        name="Acme Services GmbH",
        country="DE",
        vat_id="DE136695976",
        invoice_prefix="ADE-",
        street="Hauptstrasse 1",
        city="Berlin",
        postcode="10115",
        iban="DE89370400440532013000",
    )


def make_gl_accounts() -> None:
    for code, name in (("4000", "Subscription revenue"), ("4100", "Services revenue")):
        if not GLAccount.objects.filter(code=code).exists():
            gl_account_create(code=code, name=name)


def make_customer(
    code: str = "CUST-1",
    *,
    name: str = "Northwind Traders GmbH",
    country: str = "DE",
    tax_id: str = "DE123456788",
    postcode: str = "80331",
) -> tuple[Party, BillToEntity]:
    party = party_create(
        code=code, kind="customer", name=name, country=country, tax_id=tax_id, postcode=postcode
    )
    bill_to = bill_to_create(
        party=party,
        code=f"{code}-BT",
        name=name,
        country=country,
        tax_id=tax_id,
        street="Marienplatz 8",
        city="Munich",
        postcode=postcode,
        contact_email="ap@northwind.example",
    )
    return party, bill_to


def make_sow(family: str, *, signed_on: dt.date | None = dt.date(2025, 12, 15)) -> Document:
    return document_store(
        content=text_pdf(f"Statement of work {family}, signed terms."),
        kind="sow",
        family=family,
        title=f"SOW {family}",
        file_name=f"{family}.pdf",
        signed_on=signed_on,
        signer="Jane Buyer" if signed_on else "",
    )


@dataclass
class ContractSetup:
    contract: Contract
    party: Party
    bill_to: BillToEntity


def make_contract(
    number: str = "C-1",
    *,
    customer_code: str = "CUST-1",
    contract_type: str = "services",
    lines: list[LineTerms] | None = None,
    effective_from: dt.date = dt.date(2026, 1, 1),
    schedule_starts_on: dt.date | None = None,
    draft: bool = False,
    **version_fields: object,
) -> ContractSetup:
    """A clean EUR contract billed monthly on the 1st at 19% VAT, with its schedule.

    With ``draft`` the contract is left a draft, for tests of the activation gate.
    """
    make_gl_accounts()
    seller = make_seller()
    existing = Party.objects.filter(code=customer_code).first()
    if existing is None:
        party, bill_to = make_customer(customer_code)
    else:
        party, bill_to = existing, existing.bill_tos.get()
    sow = make_sow(f"SOW-{number}")
    terms = VersionTerms(
        effective_from=effective_from,
        currency="EUR",
        cadence="monthly",
        billing_day=1,
        timezone="Europe/Berlin",
        bill_to_id=bill_to.pk,
        tax_category="S",
        tax_rate=D("19"),
        payment_terms_days=30,
        customer_po="PO-7781",
        escalation_contact="ops@northwind.example",
        sow_document_id=sow.pk,
        lines=lines
        if lines is not None
        else [
            LineTerms(
                line_code="L1",
                kind="recurring_fixed",
                description="Managed service, monthly fee",
                unit_price=D("1000.00"),
                quantity=D("1"),
                gl_account="4000",
            )
        ],
    )
    for name, value in version_fields.items():
        setattr(terms, name, value)
    if draft:
        contract = contract_create(
            number=number,
            party=party,
            seller_entity=seller,
            contract_type=contract_type,
            terms=terms,
        )
    else:
        contract = _create_active(
            number=number, party=party, seller=seller, contract_type=contract_type, terms=terms
        )
    version = contract.versions.prefetch_related("lines", "discounts", "price_changes").get()
    # The schedule keeps each price as at its start, like one kept in a billing system, so a
    # test that adds a scheduled price change decides whether the schedule follows it.
    schedule_create_from_version(
        contract=contract,
        version=version,
        starts_on=schedule_starts_on or effective_from,
        follow_price_changes=False,
    )
    return ContractSetup(contract, party, bill_to)


def _create_active(
    *, number: str, party: Party, seller: SellerEntity, contract_type: str, terms: VersionTerms
) -> Contract:
    """Create the contract and activate it through the gate when it passes.

    A test that breaks a mandatory term on purpose (no SOW, an empty field) gets a contract
    that the gate rejects. That contract is recorded as imported from another system, already
    in force, so that the billing run drafts it and the checks report the gap.
    """
    try:
        with transaction.atomic():
            contract = contract_create(
                number=number,
                party=party,
                seller_entity=seller,
                contract_type=contract_type,
                terms=terms,
            )
            return contract_activate(contract=contract)
    except ActivationBlocked:
        return contract_create(
            number=number,
            party=party,
            seller_entity=seller,
            contract_type=contract_type,
            terms=terms,
            imported=True,
        )


def draft_for(contract: Contract, period_label: str) -> DraftPlan:
    """Draft ``contract`` for a period exactly as the billing run does."""
    period = parse_period(period_label)
    sources = load_draft_sources([contract.pk], period)
    plan = draft_contract(sources[0], period)
    assert plan is not None, f"nothing to bill for {contract.number} in {period_label}"
    return plan


def checked_draft(contract: Contract, period_label: str) -> tuple[Draft, CheckContext]:
    """The draft of ``contract`` for the period and the context the checks see for it."""
    plan = draft_for(contract, period_label)
    period = parse_period(period_label)
    draft = Draft(
        document=plan.document, contract_number=contract.number, line_kinds=plan.line_kinds
    )
    context = load_contexts(
        [
            ContextRequest(
                contract_id=contract.pk,
                bill_to_id=plan.bill_to.pk if plan.bill_to else None,
                service_start=draft.service_start,
                service_end=draft.service_end,
            )
        ],
        as_of=period.start,
        period=period,
    )[0]
    return draft, context
