"""Roles as Django auth groups, what each may do, and the checks every writing service makes.

A role is a group holding permissions of the controls app: one per writing action
(``action_contract_create``) and one per billing-critical field category (``field_price``).
Services call :func:`authorize` with the acting user before they write.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from billguard.controls.actions import (
    ACTIONS,
    CRITICAL_FIELDS,
    action_codename,
    field_codename,
    permission_list,
)
from billguard.controls.models.roles import ControlPermission, Role
from billguard.domain.errors import InvalidInput, NotAllowed

_READ_ONLY: frozenset[str] = frozenset({"audit_read"})
_EVERY_WRITER = {"document_store", "change_request", "alert_subscribe"}

# The actions of each role. The auditor only reads.
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.SALES: frozenset(
        _EVERY_WRITER
        | {
            "party_create",
            "bill_to_create",
            "contract_create",
            "amendment_draft",
            "amendment_sign",
            "source_record",
            "dispute_open",
        }
    ),
    Role.PROCUREMENT: frozenset(
        _EVERY_WRITER
        | {
            "party_create",
            "amendment_draft",
            "amendment_sign",
            "source_record",
            "vendor_onboard",
            "purchase_order_manage",
            "receipt_record",
            "vendor_invoice_record",
            "match_tolerance_manage",
            "cost_link_manage",
            "scorecard_compute",
            "party_dedupe",
        }
    ),
    Role.FINANCE: frozenset(
        _EVERY_WRITER
        | {
            "party_create",
            "bill_to_create",
            "contract_create",
            "contract_activate",
            "schedule_create",
            "source_record",
            "billing_run",
            "invoice_credit",
            "exception_resolve",
            "exception_override",
            "seller_entity_manage",
            "audit_read",
            "receipt_record",
            "vendor_invoice_record",
            "cost_link_manage",
            "scorecard_compute",
            "party_dedupe",
            "payment_record",
            "dispute_open",
            "dispute_decide",
            "history_import",
        }
    ),
    Role.FINANCE_APPROVER: frozenset(
        _EVERY_WRITER
        | {
            "contract_activate",
            "change_approve",
            "change_review",
            "delegation_create",
            "billing_run",
            "invoice_credit",
            "exception_resolve",
            "exception_override",
            "audit_read",
            "vendor_invoice_decide",
            "dispute_decide",
        }
    ),
    Role.ADMINISTRATOR: frozenset(set(ACTIONS)),
    Role.AUDITOR: _READ_ONLY,
}

# The billing-critical field categories each role may request changes to.
ROLE_FIELDS: dict[str, frozenset[str]] = {
    Role.SALES: frozenset({"price", "discount", "cadence", "po_ceiling", "payment_terms"}),
    Role.PROCUREMENT: frozenset({"vendor_bank_details", "price", "party_identity"}),
    Role.FINANCE: frozenset(set(CRITICAL_FIELDS) - {"vendor_bank_details"}),
    Role.FINANCE_APPROVER: frozenset(set(CRITICAL_FIELDS)),
    Role.ADMINISTRATOR: frozenset(set(CRITICAL_FIELDS)),
    Role.AUDITOR: frozenset(),
}


@transaction.atomic
def roles_install() -> list[Group]:
    """Create or refresh the role groups with exactly the permissions of the tables above."""
    content_type = ContentType.objects.get_for_model(ControlPermission, for_concrete_model=False)
    permissions = {}
    for codename, name in permission_list():
        permission, _ = Permission.objects.update_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        permissions[codename] = permission
    groups = []
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        codenames = [action_codename(a) for a in ROLE_ACTIONS[role]]
        codenames += [field_codename(f) for f in ROLE_FIELDS[role]]
        group.permissions.set([permissions[c] for c in codenames])
        groups.append(group)
    return groups


def user_roles(user: AbstractBaseUser) -> set[str]:
    """Return the role names (group names) of the user; an inactive user has none."""
    if not user.is_active:
        return set()
    return set(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]


def has_action(user: AbstractBaseUser, action: str) -> bool:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return user.is_active and user.has_perm(f"controls.{action_codename(action)}")  # type: ignore[attr-defined]


def authorize(user: AbstractBaseUser, action: str) -> None:
    """Raise NotAllowed unless one of ``user``'s roles grants ``action``."""
    if not has_action(user, action):
        roles = ", ".join(sorted(user_roles(user))) or "no role"
        raise NotAllowed(
            f"{user.get_username()} ({roles}) may not {ACTIONS[action]}.",
            place="user",
            value=user.get_username(),
            fix="Ask an administrator for a role that grants it, or ask a colleague who has one.",
        )


def authorize_fields(user: AbstractBaseUser, categories: Iterable[str]) -> None:
    """Raise NotAllowed unless ``user`` may request changes to every field category given."""
    refused = sorted(
        c
        for c in set(categories)
        if c in CRITICAL_FIELDS
        and not (user.is_active and user.has_perm(f"controls.{field_codename(c)}"))  # type: ignore[attr-defined]
    )
    if refused:
        labels = ", ".join(CRITICAL_FIELDS[c] for c in refused)
        raise NotAllowed(
            f"{user.get_username()} may not request changes to the {labels}.",
            place="user",
            value=user.get_username(),
            fix="Ask a colleague whose role covers these fields to request the change.",
        )


def role_label(role: str) -> str:
    """Return the label of a role (``finance approver``). An empty role is any approver."""
    if not role:
        return "any approver"
    try:
        label = str(Role(role).label)
    except ValueError:
        return role
    # Django capitalises the label it makes for a choice that has none ("Administrator").
    return label[:1].lower() + label[1:]


def role_of(name: str) -> Role:
    """Parse a role name as typed by a user (``finance-approver`` or ``finance_approver``)."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return Role(key)
    except ValueError:
        raise InvalidInput(
            f"{name!r} is not a role.",
            place="role",
            value=name,
            fix=f"Use one of: {', '.join(r.value for r in Role)}.",
        ) from None
