"""Contracts and their immutable versions."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractBaseUser, User
from django.db import transaction
from django.utils import timezone

from billguard.controls.roles import authorize
from billguard.controls.services import audit_record
from billguard.controls.templates import CLAUSE_FIELDS, CLAUSE_MAX_LENGTH, bespoke_fields_for
from billguard.domain.currencies import validate_currency
from billguard.domain.errors import InvalidInput, RuleViolation
from billguard.registry.activation import (
    ACTIVATION_TARGET,
    ActivationBlocked,
    activation_problems,
    contract_activation_write,
    current_version,
    require_activation_approval,
)
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
    from billguard.controls.models import ChangeRequest

logger = logging.getLogger(__name__)

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
    imported: bool = False,
    by: User | None = None,
) -> Contract:
    """Create a contract with its first version, as a draft until contract_activate.

    ``imported`` records a contract brought in from another system where it is already in
    force: it is active at once, without the activation gate, and the audit entry records that.
    The checks (CONTRACT_FIELD_MISSING, SOW_MISSING) then report its gaps on every draft.
    The audit names ``by`` when given.
    """
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
        status=Contract.Status.ACTIVE if imported else Contract.Status.DRAFT,
        activated_at=timezone.now() if imported else None,
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
            "status": contract.status,
            "imported": imported,
            "bespoke_fields": version.bespoke_fields,
        },
        reason="imported from another system where it is already in force; the activation "
        "gate was not applied"
        if imported
        else "",
    )
    return contract


@transaction.atomic
def contract_activate(
    *,
    contract: Contract,
    by: AbstractBaseUser | None = None,
    approval: ChangeRequest | None = None,
) -> Contract:
    """Make a draft contract active, so that the billing run drafts its invoices.

    Raises ActivationBlocked (a RuleViolation) naming every problem at once while a mandatory
    field of the contract type is empty, the current version has no signed SOW document, or
    a field deviating from the contract template has no approval. ``approval`` is the change
    request whose approval is the evidence for the bespoke fields, as its applier passes it.
    Without it, the approved requests of the contract are looked up.
    """
    if approval is not None:
        require_activation_approval(approval, contract)
    elif by is not None:
        authorize(by, "contract_activate")
    locked = Contract.objects.select_for_update().get(pk=contract.pk)
    if locked.status == Contract.Status.ACTIVE:
        raise RuleViolation(
            f"contract {locked.number} is already active.",
            place=f"contract {locked.number}",
            value=locked.status,
            fix="Nothing to do; change its terms through an amendment.",
        )
    version = current_version(locked)
    problems = activation_problems(locked, version, approval=approval)
    if problems:
        raise ActivationBlocked(locked, problems)
    contract_activation_write(
        locked,
        version,
        actor=by.get_username() if by is not None else "system",
        approval=approval,
    )
    logger.info(
        "contract %s activated at version %s by %s",
        locked.number,
        version.version_number,
        by.get_username() if by is not None else "system",
    )
    contract.status, contract.activated_at = locked.status, locked.activated_at
    return locked


@transaction.atomic
def contract_request_bespoke_approval(
    *, contract: Contract, by: User, reason: str
) -> ChangeRequest:
    """Request approval of the fields in which a draft contract deviates from its template.

    The change request lists the bespoke fields (subjects ``bespoke:<field>``), and once the
    policy's approvals are in, its applier activates the contract. Raises RuleViolation when
    the contract is active or not bespoke, or when another problem of the activation gate
    (an empty mandatory field, no signed SOW) remains, because approval cannot fix those.
    """
    from billguard.controls.models import ChangeRequest

    locked = Contract.objects.select_for_update().get(pk=contract.pk)
    if locked.status == Contract.Status.ACTIVE:
        raise RuleViolation(
            f"contract {locked.number} is already active.",
            place=f"contract {locked.number}",
            value=locked.status,
            fix="Approve a deviation of an active contract through an amendment.",
        )
    version = current_version(locked)
    if not version.bespoke_fields:
        raise RuleViolation(
            f"contract {locked.number} version {version.version_number} follows its "
            "template, so it needs no bespoke approval.",
            place=f"contract {locked.number}",
            fix="Activate it directly.",
        )
    problems = activation_problems(locked, version, check_bespoke=False)
    if problems:
        raise ActivationBlocked(locked, problems)
    pending = ChangeRequest.objects.filter(
        target=ACTIVATION_TARGET,
        target_id=str(locked.pk),
        status=ChangeRequest.Status.PENDING,
    ).first()
    if pending is not None:
        raise RuleViolation(
            f"change request {pending.pk} already asks to approve the bespoke terms of "
            f"contract {locked.number}.",
            place=f"contract {locked.number}",
            value=pending.pk,
            fix="Wait for its decision, or withdraw it first.",
        )
    # Imported here: the change request services import the registry.
    from billguard.controls.requests import change_request_create

    fields = list(version.bespoke_fields)
    return change_request_create(
        by=by,
        target=ACTIVATION_TARGET,
        target_id=locked.pk,
        changes={"bespoke_fields": fields},
        subjects=[f"bespoke:{name}" for name in fields],
        reason=reason,
    )


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
        escalation_clause=terms.escalation_clause,
        liquidated_damages=terms.liquidated_damages,
        termination_rights=terms.termination_rights,
        bespoke_fields=bespoke_fields_for(contract_type=contract.contract_type, terms=terms),
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
    for name in CLAUSE_FIELDS:
        text = getattr(terms, name)
        if not isinstance(text, str) or len(text) > CLAUSE_MAX_LENGTH:
            raise InvalidInput(
                f"the {name.replace('_', ' ')} must be text of at most {CLAUSE_MAX_LENGTH} "
                "characters.",
                place=name,
                value=text if not isinstance(text, str) else text[:60] + "...",
                fix="Give the clause's summary, or an empty text for none; store the full "
                "clause in the SOW document.",
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
