"""Fields a contract version must have, per contract type.

These defaults apply until an installation configures its own policy; CONTRACT_FIELD_MISSING
reports every empty one.
"""

from __future__ import annotations

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


def missing_fields(version: ContractVersion, contract_type: str) -> list[str]:
    """Names of the mandatory fields of ``contract_type`` that ``version`` leaves empty."""
    missing = []
    for name in MANDATORY_FIELDS.get(contract_type, _COMMON):
        value = getattr(version, f"{name}_id", None) if _is_relation(name) else None
        if not _is_relation(name):
            value = getattr(version, name)
        if value in (None, ""):
            missing.append(name)
    return missing


def _is_relation(name: str) -> bool:
    return name in {"bill_to", "sow_document", "price_list"}
