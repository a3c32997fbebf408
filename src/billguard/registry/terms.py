"""Input shapes for the contract services: the terms of one contract version."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class LineTerms:
    line_code: str
    kind: str
    description: str
    unit_price: Decimal | None = None
    quantity: Decimal | None = None
    unit_code: str = "C62"
    product_code: str = ""
    gl_account: str = ""
    tax_category: str = ""
    tax_rate: Decimal | None = None


@dataclass
class DiscountTerms:
    percent: Decimal
    line_code: str = ""
    approval_reference: str = ""
    expires_on: dt.date | None = None


@dataclass
class PriceChangeTerms:
    line_code: str
    effective_on: dt.date
    kind: str
    uplift_percent: Decimal | None = None
    index_name: str = ""
    index_base_value: Decimal | None = None
    index_value: Decimal | None = None


@dataclass
class VersionTerms:
    """Every field of a contract version; the defaults are the empty values."""

    effective_from: dt.date
    currency: str
    cadence: str = ""
    billing_day: int | None = None
    timezone: str = "UTC"
    bill_to_id: int | None = None
    price_list_id: int | None = None
    tax_category: str = ""
    tax_rate: Decimal | None = None
    tax_jurisdiction: str = ""
    exemption_reason: str = ""
    payment_terms_days: int | None = None
    customer_po: str = ""
    po_ceiling: Decimal | None = None
    escalation_contact: str = ""
    sow_document_id: int | None = None
    end_date: dt.date | None = None
    renewal_terms: str = "none"
    renewal_months: int | None = None
    minimum_commitment: Decimal | None = None
    approved_discounts: bool = False
    # Clauses of the signed terms; a contract template states the standard wording of each.
    escalation_clause: str = ""
    liquidated_damages: str = ""
    termination_rights: str = ""
    lines: list[LineTerms] = field(default_factory=list)
    discounts: list[DiscountTerms] = field(default_factory=list)
    price_changes: list[PriceChangeTerms] = field(default_factory=list)


# Version fields an amendment may change by name, with how to read the JSON value.
AMENDABLE_FIELDS = (
    "currency",
    "cadence",
    "billing_day",
    "timezone",
    "bill_to_id",
    "price_list_id",
    "tax_category",
    "tax_rate",
    "tax_jurisdiction",
    "exemption_reason",
    "payment_terms_days",
    "customer_po",
    "po_ceiling",
    "escalation_contact",
    "sow_document_id",
    "end_date",
    "renewal_terms",
    "renewal_months",
    "minimum_commitment",
    "approved_discounts",
    "escalation_clause",
    "liquidated_damages",
    "termination_rights",
)


def terms_from_version(version: object) -> VersionTerms:
    """Copy the terms of a stored ContractVersion, lines and all, into a VersionTerms."""
    from billguard.registry.models import ContractVersion

    assert isinstance(version, ContractVersion)
    return VersionTerms(
        effective_from=version.effective_from,
        currency=version.currency,
        cadence=version.cadence,
        billing_day=version.billing_day,
        timezone=version.timezone,
        bill_to_id=version.bill_to_id,
        price_list_id=version.price_list_id,
        tax_category=version.tax_category,
        tax_rate=version.tax_rate,
        tax_jurisdiction=version.tax_jurisdiction,
        exemption_reason=version.exemption_reason,
        payment_terms_days=version.payment_terms_days,
        customer_po=version.customer_po,
        po_ceiling=version.po_ceiling,
        escalation_contact=version.escalation_contact,
        sow_document_id=version.sow_document_id,
        end_date=version.end_date,
        renewal_terms=version.renewal_terms,
        renewal_months=version.renewal_months,
        minimum_commitment=version.minimum_commitment,
        approved_discounts=version.approved_discounts,
        escalation_clause=version.escalation_clause,
        liquidated_damages=version.liquidated_damages,
        termination_rights=version.termination_rights,
        lines=[
            LineTerms(
                line_code=line.line_code,
                kind=line.kind,
                description=line.description,
                unit_price=line.unit_price,
                quantity=line.quantity,
                unit_code=line.unit_code,
                product_code=line.product_code,
                gl_account=line.gl_account,
                tax_category=line.tax_category,
                tax_rate=line.tax_rate,
            )
            for line in version.lines.all()
        ],
        discounts=[
            DiscountTerms(
                percent=d.percent,
                line_code=d.line_code,
                approval_reference=d.approval_reference,
                expires_on=d.expires_on,
            )
            for d in version.discounts.all()
        ],
        price_changes=[
            PriceChangeTerms(
                line_code=c.line_code,
                effective_on=c.effective_on,
                kind=c.kind,
                uplift_percent=c.uplift_percent,
                index_name=c.index_name,
                index_base_value=c.index_base_value,
                index_value=c.index_value,
            )
            for c in version.price_changes.all()
        ],
    )
