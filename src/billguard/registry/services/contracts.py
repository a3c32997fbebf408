"""Contracts and their immutable versions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from billguard.controls.roles import authorize
from billguard.controls.services import audit_record
from billguard.domain.currencies import validate_currency
from billguard.domain.errors import InvalidInput, RuleViolation
from billguard.registry.models import (
    Contract,
    ContractLine,
    ContractVersion,
    Discount,
    Party,
    ScheduledPriceChange,
    SellerEntity,
)
from billguard.registry.models.contracts import Cadence, ContractType, LineKind
from billguard.registry.terms import VersionTerms
from billguard.registry.validation import (
    require_billing_day,
    require_order,
    require_positive,
    require_text,
    require_timezone,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# UNCL 5305 codes that EN 16931 allows for the VAT category (BT-151); B is split payment.
TAX_CATEGORIES = ("S", "Z", "E", "AE", "K", "G", "O", "L", "M", "B")


@transaction.atomic
def contract_create(
    *,
    number: str,
    party: Party,
    seller_entity: SellerEntity,
    contract_type: str,
    terms: VersionTerms,
    title: str = "",
    external_ref: str = "",
    actor: str = "system",
    by: User | None = None,
) -> Contract:
    """Create a contract with its first version; the audit names ``by`` when given."""
    if by is not None:
        authorize(by, "contract_create")
        actor = by.get_username()
    require_text(number, field="contract number")
    if contract_type not in ContractType.values:
        raise InvalidInput(
            f"contract type {contract_type!r} is unknown.",
            place="contract_type",
            value=contract_type,
            fix=f"Use one of: {', '.join(ContractType.values)}.",
        )
    if party.kind != Party.Kind.CUSTOMER:
        raise InvalidInput(f"party {party.code} is a {party.kind}, not a customer.", place="party")
    if Contract.objects.filter(number=number).exists():
        raise RuleViolation(f"contract {number!r} already exists.", place="number", value=number)
    contract = Contract.objects.create(
        number=number,
        party=party,
        seller_entity=seller_entity,
        contract_type=contract_type,
        title=title,
        external_ref=external_ref,
    )
    version = contract_version_create(contract=contract, terms=terms)
    audit_record(
        actor=actor,
        action="contract.create",
        record=contract,
        before=None,
        after={
            "number": number,
            "party": party.code,
            "seller_entity": seller_entity.code,
            "contract_type": contract_type,
            "version": version.version_number,
        },
    )
    return contract


def contract_version_create(
    *, contract: Contract, terms: VersionTerms, amendment_id: int | None = None
) -> ContractVersion:
    """Write the next version of ``contract``; callers hold the transaction."""
    validate_terms(terms)
    latest = contract.versions.order_by("-version_number").first()
    if latest is not None and terms.effective_from <= latest.effective_from:
        raise RuleViolation(
            f"the new version takes effect on {terms.effective_from}, not after the current "
            f"version of {latest.effective_from}.",
            place="effective_from",
            value=terms.effective_from,
            fix="Choose an effective date after the version in force.",
        )
    version = ContractVersion.objects.create(
        contract=contract,
        version_number=(latest.version_number + 1) if latest else 1,
        effective_from=terms.effective_from,
        currency=terms.currency,
        cadence=terms.cadence,
        billing_day=terms.billing_day,
        timezone=terms.timezone,
        bill_to_id=terms.bill_to_id,
        price_list_id=terms.price_list_id,
        tax_category=terms.tax_category,
        tax_rate=terms.tax_rate,
        tax_jurisdiction=terms.tax_jurisdiction,
        exemption_reason=terms.exemption_reason,
        payment_terms_days=terms.payment_terms_days,
        customer_po=terms.customer_po,
        po_ceiling=terms.po_ceiling,
        escalation_contact=terms.escalation_contact,
        sow_document_id=terms.sow_document_id,
        end_date=terms.end_date,
        renewal_terms=terms.renewal_terms,
        renewal_months=terms.renewal_months,
        minimum_commitment=terms.minimum_commitment,
        approved_discounts=terms.approved_discounts,
        amendment_id=amendment_id,
    )
    ContractLine.objects.bulk_create(
        ContractLine(
            version=version,
            line_code=line.line_code,
            kind=line.kind,
            description=line.description,
            product_code=line.product_code,
            unit_code=line.unit_code,
            quantity=line.quantity,
            unit_price=line.unit_price,
            gl_account=line.gl_account,
            tax_category=line.tax_category,
            tax_rate=line.tax_rate,
        )
        for line in terms.lines
    )
    Discount.objects.bulk_create(
        Discount(
            version=version,
            line_code=discount.line_code,
            percent=discount.percent,
            approval_reference=discount.approval_reference,
            expires_on=discount.expires_on,
        )
        for discount in terms.discounts
    )
    ScheduledPriceChange.objects.bulk_create(
        ScheduledPriceChange(
            version=version,
            line_code=change.line_code,
            effective_on=change.effective_on,
            kind=change.kind,
            uplift_percent=change.uplift_percent,
            index_name=change.index_name,
            index_base_value=change.index_base_value,
            index_value=change.index_value,
        )
        for change in terms.price_changes
    )
    return version


def validate_terms(terms: VersionTerms) -> None:
    """Raise InvalidInput for the first malformed field of ``terms``."""
    validate_currency(terms.currency, place="currency")
    if terms.cadence and terms.cadence not in Cadence.values:
        raise InvalidInput(
            f"billing cadence {terms.cadence!r} is unknown.",
            place="cadence",
            value=terms.cadence,
            fix=f"Use one of: {', '.join(Cadence.values)}.",
        )
    require_billing_day(terms.billing_day)
    require_timezone(terms.timezone, field="timezone")
    if terms.tax_category and terms.tax_category not in TAX_CATEGORIES:
        raise InvalidInput(
            f"tax category {terms.tax_category!r} is not a UNCL 5305 VAT category.",
            place="tax_category",
            value=terms.tax_category,
            fix=f"Use one of: {', '.join(TAX_CATEGORIES)}.",
        )
    require_positive(terms.tax_rate, field="tax_rate", allow_zero=True)
    require_positive(terms.po_ceiling, field="po_ceiling")
    require_positive(terms.minimum_commitment, field="minimum_commitment")
    require_order(terms.effective_from, terms.end_date, field="contract term")
    if terms.renewal_terms not in ContractVersion.RenewalTerms.values:
        raise InvalidInput(
            f"renewal terms {terms.renewal_terms!r} are unknown.",
            place="renewal_terms",
            value=terms.renewal_terms,
            fix=f"Use one of: {', '.join(ContractVersion.RenewalTerms.values)}.",
        )
    seen: set[str] = set()
    for line in terms.lines:
        place = f"line {line.line_code}"
        require_text(line.line_code, field="line_code")
        if line.line_code in seen:
            raise InvalidInput(f"line code {line.line_code!r} appears twice.", place=place)
        seen.add(line.line_code)
        if line.kind not in LineKind.values:
            raise InvalidInput(
                f"line kind {line.kind!r} is unknown.",
                place=place,
                value=line.kind,
                fix=f"Use one of: {', '.join(LineKind.values)}.",
            )
        require_positive(line.unit_price, field=f"{place} unit_price", allow_zero=True)
        require_positive(line.quantity, field=f"{place} quantity")
    for discount in terms.discounts:
        if not 0 < discount.percent <= 100:
            raise InvalidInput(
                f"discount of {discount.percent}% is outside 0 to 100.",
                place="discount percent",
                value=discount.percent,
            )
