"""Fields a contract version must have, per contract type.

The control policy's MandatoryField rows name them. While the table is empty,
MANDATORY_FIELDS applies; once it has rows, a contract type without rows has no mandatory
field. CONTRACT_FIELD_MISSING reports every empty one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from billguard.registry.models import ContractVersion

_COMMON = ("effective_from", "bill_to", "tax_category", "cadence", "escalation_contact")

MANDATORY_FIELDS: dict[str, tuple[str, ...]] = {
    "subscription": (*_COMMON, "billing_day", "payment_terms_days"),
    "services": (*_COMMON, "sow_document", "payment_terms_days"),
    "usage": (*_COMMON, "price_list", "payment_terms_days"),
    "project": (*_COMMON, "sow_document", "customer_po"),
}

FIELD_LABELS = {
    "effective_from": "effective date",
    "bill_to": "bill-to entity",
    "tax_category": "tax treatment",
    "cadence": "billing cadence",
    "billing_day": "billing day",
    "escalation_contact": "escalation contact",
    "sow_document": "SOW document",
    "payment_terms_days": "payment terms",
    "price_list": "price list",
    "customer_po": "customer PO",
}


@dataclass(frozen=True)
class MandatoryFields:
    """The mandatory fields of each contract type, and of a type that has no entry."""

    by_contract_type: Mapping[str, tuple[str, ...]]
    otherwise: tuple[str, ...] = ()

    def of(self, contract_type: str) -> tuple[str, ...]:
        return self.by_contract_type.get(contract_type, self.otherwise)


def mandatory_fields_load() -> MandatoryFields:
    """Return the mandatory fields of the policy, read with one query, or the defaults."""
    from billguard.controls.models import MandatoryField

    configured: dict[str, list[str]] = {}
    for contract_type, field_name in MandatoryField.objects.order_by("pk").values_list(
        "contract_type", "field_name"
    ):
        configured.setdefault(contract_type, []).append(field_name)
    if not configured:
        return MandatoryFields(MANDATORY_FIELDS, otherwise=_COMMON)
    return MandatoryFields({name: tuple(values) for name, values in configured.items()})


def missing_fields(
    version: ContractVersion, contract_type: str, mandatory: MandatoryFields | None = None
) -> list[str]:
    """Names of the mandatory fields of ``contract_type`` that ``version`` leaves empty.

    ``mandatory`` is the result of mandatory_fields_load, which a caller checking many
    versions loads once; without it, this call loads it.
    """
    fields = mandatory if mandatory is not None else mandatory_fields_load()
    missing = []
    for name in fields.of(contract_type):
        field = ContractVersion._meta.get_field(name)
        # A relation is read by its id, so that checking it loads no row.
        value = getattr(version, field.attname if field.is_relation else name)  # type: ignore[union-attr]
        if value in (None, ""):
            missing.append(name)
    return missing
