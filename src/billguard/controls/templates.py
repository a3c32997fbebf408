"""Contract templates (playbooks): the standard terms of each contract type, and deviations.

A contract version whose terms differ from its type's template in a field the template sets
is bespoke in that field. The registry stores those field names on the version when it is
written, and a bespoke contract becomes active only once the deviation is approved.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from billguard.controls.models import ContractTemplate
from billguard.controls.roles import authorize
from billguard.controls.services import audit_record
from billguard.domain.errors import InvalidInput
from billguard.registry.models.contracts import Cadence, ContractType

# The terms a template can fix, in the order they are compared and shown.
TEMPLATE_FIELDS = (
    "payment_terms_days",
    "cadence",
    "escalation_clause",
    "liquidated_damages",
    "termination_rights",
)
CLAUSE_FIELDS = ("escalation_clause", "liquidated_damages", "termination_rights")
CLAUSE_MAX_LENGTH = 300
# Longer payment terms than a year are a typing error, not a negotiated term.
MAX_PAYMENT_TERMS_DAYS = 365


@transaction.atomic
def contract_template_set(
    *,
    contract_type: str,
    name: str = "",
    payment_terms_days: int | None = None,
    cadence: str = "",
    escalation_clause: str = "",
    liquidated_damages: str = "",
    termination_rights: str = "",
    by: AbstractBaseUser | None = None,
) -> ContractTemplate:
    """Create or replace the template of ``contract_type``.

    A field left empty sets no standard: no contract deviates from the template in it.
    Versions written before the change keep the bespoke fields they were written with.
    """
    if by is not None:
        authorize(by, "policy_change")
    values: dict[str, Any] = {
        "name": name.strip() or f"Standard {contract_type} terms",
        "payment_terms_days": payment_terms_days,
        "cadence": cadence.strip(),
        "escalation_clause": escalation_clause.strip(),
        "liquidated_damages": liquidated_damages.strip(),
        "termination_rights": termination_rights.strip(),
    }
    _validate(contract_type, values)

    existing = ContractTemplate.objects.select_for_update().filter(contract_type=contract_type)
    template = existing.first()
    before = _as_dict(template) if template is not None else None
    if template is None:
        template = ContractTemplate.objects.create(contract_type=contract_type, **values)
    else:
        for key, value in values.items():
            setattr(template, key, value)
        template.save()
    audit_record(
        actor=by.get_username() if by is not None else "system",
        action="contract_template.set",
        record=template,
        before=before,
        after=_as_dict(template),
    )
    return template


def template_for(contract_type: str) -> ContractTemplate | None:
    """Return the template of ``contract_type``, or None when the type has none."""
    return ContractTemplate.objects.filter(contract_type=contract_type).first()


def template_deviations(version: Any, template: ContractTemplate | None) -> list[dict[str, Any]]:
    """List the fields where ``version`` differs from ``template``, field by field.

    ``version`` is a ContractVersion or a VersionTerms: both have the template's fields.
    Each item is ``{"field", "template", "contract"}``. Clause texts are compared with runs of
    whitespace made single, so a clause retyped with other line breaks is the same clause.
    """
    if template is None:
        return []
    deviations = []
    for field in TEMPLATE_FIELDS:
        standard = getattr(template, field)
        if standard in (None, ""):
            continue
        actual = getattr(version, field)
        if _normalized(standard) != _normalized(actual):
            deviations.append({"field": field, "template": standard, "contract": actual})
    return deviations


def bespoke_fields_for(*, contract_type: str, terms: Any) -> list[str]:
    """Return the names of the fields in which ``terms`` deviate from their type's template."""
    return [item["field"] for item in template_deviations(terms, template_for(contract_type))]


def _normalized(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.split())
    return value


def _validate(contract_type: str, values: dict[str, Any]) -> None:
    if contract_type not in ContractType.values:
        raise InvalidInput(
            f"contract type {contract_type!r} is unknown.",
            place="contract_type",
            value=contract_type,
            fix=f"Use one of: {', '.join(ContractType.values)}.",
        )
    cadence = values["cadence"]
    if cadence and cadence not in Cadence.values:
        raise InvalidInput(
            f"billing cadence {cadence!r} is unknown.",
            place="cadence",
            value=cadence,
            fix=f"Use one of: {', '.join(Cadence.values)}, or leave it empty for no standard.",
        )
    days = values["payment_terms_days"]
    if days is not None and not 0 <= days <= MAX_PAYMENT_TERMS_DAYS:
        raise InvalidInput(
            f"payment terms of {days} days are outside 0 to {MAX_PAYMENT_TERMS_DAYS}.",
            place="payment_terms_days",
            value=days,
            fix="Give the days from the invoice date to the due date, such as 30.",
        )
    if len(values["name"]) > ContractTemplate._meta.get_field("name").max_length:  # type: ignore[operator]
        raise InvalidInput(
            "the template name is longer than 120 characters.",
            place="name",
            value=values["name"],
            fix="Shorten the name.",
        )
    for field in CLAUSE_FIELDS:
        if len(values[field]) > CLAUSE_MAX_LENGTH:
            raise InvalidInput(
                f"the {field.replace('_', ' ')} is {len(values[field])} characters long, "
                f"more than {CLAUSE_MAX_LENGTH}.",
                place=field,
                value=values[field][:60] + "...",
                fix="Store the full clause in a document and give its summary here.",
            )


def _as_dict(template: ContractTemplate) -> dict[str, Any]:
    return {
        "contract_type": template.contract_type,
        "name": template.name,
        **{field: getattr(template, field) for field in TEMPLATE_FIELDS},
    }
