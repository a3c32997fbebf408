"""The appliers of change requests: one per target, each reads and changes its target.

A change request names a target (``contract``, ``bill_to``, ...) and the id of one record of
it. The applier registered for the target takes the current values of the attributes a
request changes (its snapshot), returns the billing-critical field categories they belong to,
and performs the change once the approvals are in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from billguard.domain.errors import InvalidInput

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from billguard.controls.models import ChangeRequest


class Applier(Protocol):
    """The interface between a change request and the code that changes its target.

    ``snapshot`` returns the current values of the attributes that ``changes`` names, as JSON;
    the request stores it as ``before`` and compares it again when it applies, so that a
    target changed since the request was made is not overwritten. ``scope`` returns the
    customer group and contract type the approval rules are scoped by ("" when the target has
    none). An applier may also define ``validate(target_id, changes, effective_from)``,
    which raises InvalidInput for an unknown attribute or a bad value before a request exists.
    """

    def snapshot(self, target_id: str, changes: dict[str, Any]) -> dict[str, Any]: ...

    def apply(self, request: ChangeRequest, *, by: User | None) -> dict[str, Any]: ...

    def label(self, target_id: str) -> str: ...

    def scope(self, target_id: str) -> tuple[str, str]: ...

    def categories(self, changes: dict[str, Any]) -> list[str]: ...


ApplierClass = TypeVar("ApplierClass", bound=type)

_APPLIERS: dict[str, Applier] = {}


def register_applier(target: str) -> Callable[[ApplierClass], ApplierClass]:
    """Register an instance of the decorated class as the applier of ``target``."""

    def register(cls: ApplierClass) -> ApplierClass:
        if target in _APPLIERS:
            raise ValueError(f"an applier for target {target!r} is registered twice")
        _APPLIERS[target] = cls()
        return cls

    return register


def applier_for(target: str) -> Applier:
    """Return the applier of ``target``, or raise InvalidInput naming the known targets."""
    applier = _APPLIERS.get(target)
    if applier is None:
        raise InvalidInput(
            f"{target!r} is not a target of change requests.",
            place="target",
            value=target,
            fix=f"Use one of: {', '.join(sorted(_APPLIERS))}.",
        )
    return applier


def applier_validate(
    applier: Applier, target_id: str, changes: dict[str, Any], effective_from: dt.date | None
) -> None:
    """Run the applier's own validation when it has one."""
    validate = getattr(applier, "validate", None)
    if validate is not None:
        validate(target_id, changes, effective_from)


# The billing-critical attributes of each target and their category, used while the
# CriticalField table is empty. "lines.<field>" names a field of any line.
DEFAULT_CRITICAL_FIELDS: dict[str, dict[str, str]] = {
    "contract": {
        "bill_to_id": "bill_to",
        "tax_category": "tax_treatment",
        "tax_rate": "tax_treatment",
        "exemption_reason": "tax_treatment",
        "tax_jurisdiction": "tax_treatment",
        "price_list_id": "price",
        "lines.unit_price": "price",
        "lines.tax_category": "tax_treatment",
        "lines.tax_rate": "tax_treatment",
        "discounts": "discount",
        "cadence": "cadence",
        "billing_day": "cadence",
        "currency": "currency",
        "lines.gl_account": "gl_account",
        "payment_terms_days": "payment_terms",
        "po_ceiling": "po_ceiling",
    },
    "bill_to": {
        "tax_id": "tax_id",
        "name": "bill_to",
        "street": "bill_to",
        "city": "bill_to",
        "postcode": "bill_to",
        "country": "bill_to",
        "subdivision": "bill_to",
    },
    "schedule": {
        "bill_to_id": "bill_to",
        "currency": "currency",
        "cadence": "cadence",
        "billing_day": "cadence",
        "lines.unit_price": "price",
        "lines.discount_percent": "discount",
        "lines.gl_account": "gl_account",
        "lines.tax_category": "tax_treatment",
        "lines.tax_rate": "tax_treatment",
    },
    "vendor": {
        "iban": "vendor_bank_details",
        "bic": "vendor_bank_details",
        "account_name": "vendor_bank_details",
    },
}


def critical_fields(target: str) -> dict[str, str]:
    """Return attribute -> category for ``target``: the CriticalField rows, or the defaults.

    The defaults apply only while the table has no row at all, so that a policy which lists
    no attribute of a target makes none of its attributes critical.
    """
    from billguard.controls.models import CriticalField

    rows = list(CriticalField.objects.values_list("target", "attribute", "category"))
    if not rows:
        return dict(DEFAULT_CRITICAL_FIELDS.get(target, {}))
    return {attribute: category for row_target, attribute, category in rows if row_target == target}


def changed_attributes(changes: Mapping[str, Any], line_fields: frozenset[str]) -> set[str]:
    """Return the attribute names ``changes`` touches, lines as ``lines.<field>``.

    A removed line (``null``) touches every field in ``line_fields``, because removing it
    changes what is invoiced as much as a changed price does.
    """
    attributes = {name for name in changes if name != "lines"}
    lines = changes.get("lines") or {}
    if isinstance(lines, Mapping):
        for line_changes in lines.values():
            if isinstance(line_changes, Mapping):
                attributes |= {f"lines.{name}" for name in line_changes}
            else:
                attributes |= {f"lines.{name}" for name in line_fields}
    return attributes


def categories_of(target: str, attributes: set[str]) -> list[str]:
    """Return the sorted billing-critical categories of ``attributes`` of ``target``."""
    mapping = critical_fields(target)
    return sorted({mapping[a] for a in attributes if a in mapping})
