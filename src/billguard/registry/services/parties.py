"""Customers, vendors and their bill-to entities."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from billguard.controls.roles import authorize
from billguard.domain.errors import InvalidInput, RuleViolation
from billguard.registry.models import BillToEntity, Party
from billguard.registry.tax_ids import validate_tax_id
from billguard.registry.validation import require_country, require_text

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def party_create(
    *,
    code: str,
    kind: str,
    name: str,
    country: str,
    tax_id: str = "",
    postcode: str = "",
    validate: bool = False,
    by: User | None = None,
) -> Party:
    """Create a customer or vendor.

    With ``validate``, used for values a person typed, a tax ID must pass python-stdnum's check
    for the country and the creation is audited. Imports and the sample company keep the
    values of their source.
    """
    if by is not None:
        authorize(by, "party_create")
    require_text(code, field="code")
    require_text(name, field="name")
    if kind not in Party.Kind.values:
        raise InvalidInput(
            f"party kind {kind!r} is unknown.",
            place="kind",
            value=kind,
            fix="Use customer or vendor.",
        )
    country = require_country(country, field="country")
    if Party.objects.filter(code=code).exists():
        raise RuleViolation(
            f"party {code!r} already exists.",
            place="code",
            value=code,
            fix="Choose another code, or work on the existing party.",
        )
    tax_id = tax_id.strip()
    if validate and tax_id:
        verdict = validate_tax_id(tax_id, country)
        if not verdict.valid:
            raise InvalidInput(
                f"tax ID {tax_id!r} is not valid in {country}: {verdict.error.rstrip('.')}.",
                place="tax ID",
                value=tax_id,
                fix="Copy the tax ID from the party's registration or invoice, with its "
                "country prefix where it has one.",
            )
    party = Party.objects.create(
        code=code, kind=kind, name=name.strip(), country=country, tax_id=tax_id, postcode=postcode
    )
    if validate:
        from billguard.controls.services import DEFAULT_ACTOR, audit_record

        audit_record(
            actor=by.get_username() if by is not None else DEFAULT_ACTOR,
            action="party.create",
            record=party,
            before=None,
            after={
                "code": code,
                "kind": kind,
                "name": party.name,
                "country": country,
                "tax_id": tax_id,
                "postcode": postcode,
            },
        )
    return party


@transaction.atomic
def bill_to_create(
    *,
    party: Party,
    code: str,
    name: str,
    country: str,
    tax_id: str = "",
    street: str = "",
    city: str = "",
    postcode: str = "",
    subdivision: str = "",
    contact_name: str = "",
    contact_email: str = "",
    by: User | None = None,
) -> BillToEntity:
    """Create a bill-to entity; an invalid tax ID is stored with the reason, for the checks.

    The entity is still created because a real customer's tax ID can be wrong in the source
    system; TAX_ID_INVALID then holds every draft addressed to it until it is corrected.
    """
    if by is not None:
        authorize(by, "bill_to_create")
    require_text(code, field="code")
    require_text(name, field="name")
    country = require_country(country, field="country")
    if BillToEntity.objects.filter(code=code).exists():
        raise RuleViolation(f"bill-to entity {code!r} already exists.", place="code", value=code)
    valid: bool | None = None
    error = ""
    if tax_id:
        check = validate_tax_id(tax_id, country)
        valid, error = check.valid, check.error
    return BillToEntity.objects.create(
        party=party,
        code=code,
        name=name.strip(),
        country=country,
        tax_id=tax_id.strip(),
        tax_id_valid=valid,
        tax_id_error=error[:200],
        street=street,
        city=city,
        postcode=postcode,
        subdivision=subdivision,
        contact_name=contact_name,
        contact_email=contact_email,
    )


def bill_to_archive(*, bill_to: BillToEntity, by: User | None = None) -> BillToEntity:
    """Archive a bill-to entity; the bill_to_create action covers archiving too."""
    if by is not None:
        authorize(by, "bill_to_create")
    bill_to.archived_at = timezone.now()
    bill_to.save(update_fields=["archived_at"])
    return bill_to
