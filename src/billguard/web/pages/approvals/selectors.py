"""Reads for the approvals pages: what waits for an approver, and a request's change by field."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import BooleanField, Count, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from billguard.controls.approval_policy import requirements_describe, requirements_met_by
from billguard.controls.delegations import delegations_active
from billguard.controls.models import Approval, ChangeRequest
from billguard.controls.roles import has_action, user_roles

# Labels of the attributes that change requests name, as finance reads them.
FIELD_LABELS: dict[str, str] = {
    "bill_to_id": "Bill-to entity (id)",
    "price_list_id": "Price list (id)",
    "sow_document_id": "Statement of work (document id)",
    "payment_terms_days": "Payment terms (days)",
    "billing_day": "Billing day",
    "po_ceiling": "PO ceiling",
    "customer_po": "Customer PO",
    "tax_id": "Tax ID",
    "iban": "IBAN",
    "bic": "BIC",
    "unit_price": "unit price",
    "discount_percent": "discount (%)",
    "gl_account": "GL account",
    "tax_rate": "tax rate (%)",
    "tax_category": "tax category",
}


_DECIMAL = re.compile(r"-?\d+\.\d+")

# A requirement that is enforced, lacks approvals, and names no role (any approver) or one
# of $roles: requirements_met_by in SQL/JSON path form (PostgreSQL 12 or later).
_OUTSTANDING_PATH = (
    '$[*] ? ((!exists(@.mode) || @.mode == "enforce")'
    " && (!exists(@.approved_by) || @.approved_by.size() < @.approvals)"
    ' && (@.role == "" || @.role == $roles[*]))'
)


@dataclass(frozen=True)
class FieldChange:
    """One changed field of a request: its label, the value before and the value after."""

    field: str
    label: str
    before: str
    after: str


def waiting_requests(user: User, *, now: dt.datetime | None = None) -> QuerySet[ChangeRequest]:
    """Return the pending requests that ``user`` may approve now.

    A request waits for ``user`` when someone else made it, ``user`` has not decided it (in
    person or through a delegate) and it has not expired. An outstanding requirement must
    also be met by ``user``'s roles, or by the roles of a colleague who delegated their
    approval rights to ``user``, did not make the request and is not counted yet. The
    approval service checks all of this again when ``user`` approves.

    PostgreSQL matches the requirements with a JSON path, so the result stays a query that
    the inbox counts and filters by. Elsewhere the requirements are read and matched by
    :func:`~billguard.controls.approval_policy.requirements_met_by`, the rule that the
    approval service applies. The path states the same rule, and the tests run both.
    """
    now = now or timezone.now()
    identities: list[tuple[int | None, set[str]]] = []
    if has_action(user, "change_approve"):
        identities.append((None, user_roles(user)))
    for delegation in delegations_active(user, timezone.localdate(now)):
        if has_action(delegation.delegator, "change_approve"):
            identities.append((delegation.delegator_id, user_roles(delegation.delegator)))
    if not identities:
        return ChangeRequest.objects.none()

    candidates = (
        ChangeRequest.objects.filter(status=ChangeRequest.Status.PENDING)
        .exclude(requested_by=user)
        .exclude(expires_at__lte=now)
        .exclude(approvals__approver=user)
        .exclude(approvals__on_behalf_of=user)
    )
    if connection.vendor == "postgresql":
        condition = Q()
        for delegator_id, roles in identities:
            condition |= _roles_meet(roles) & _delegator_may_count(delegator_id)
        return candidates.filter(condition)

    waiting: set[int] = set()
    for delegator_id, roles in identities:
        rows = candidates.filter(_delegator_may_count(delegator_id))
        waiting |= {
            request_id
            for request_id, required in rows.values_list("pk", "required")
            if requirements_met_by(required, roles)
        }
    return ChangeRequest.objects.filter(pk__in=waiting)


def _roles_meet(roles: set[str]) -> Q:
    """Return the PostgreSQL condition: an outstanding requirement that ``roles`` meet."""
    # The SQL text is constant; the path and the roles are passed as parameters.
    matches = RawSQL(  # noqa: S611
        f'jsonb_path_exists("{ChangeRequest._meta.db_table}"."required", %s::jsonpath, %s::jsonb)',
        (_OUTSTANDING_PATH, json.dumps({"roles": sorted(roles)})),
        output_field=BooleanField(),
    )
    return Q(matches)


def _delegator_may_count(delegator_id: int | None) -> Q:
    """Return the condition that a delegator neither made the request nor is counted yet."""
    if delegator_id is None:
        return Q()
    return (
        ~Q(requested_by_id=delegator_id)
        & ~Q(approvals__approver_id=delegator_id)
        & ~Q(approvals__on_behalf_of_id=delegator_id)
    )


def approvals_given(request_ids: Iterable[int]) -> dict[int, int]:
    """Return the number of approvals given so far, by request id, in one query."""
    rows = (
        Approval.objects.filter(
            change_request_id__in=list(request_ids), decision=Approval.Decision.APPROVE
        )
        .values("change_request_id")
        .annotate(given=Count("id"))
    )
    return {row["change_request_id"]: row["given"] for row in rows}


def outstanding_text(request: ChangeRequest) -> str:
    """Describe the approvals a pending request still needs, one part per role."""
    if request.status != ChangeRequest.Status.PENDING:
        return "none"
    return requirements_describe(request.required)


def field_changes(before: Any, changes: Any) -> list[FieldChange]:
    """Return one row per changed field, nested line fields as ``lines.L1.unit_price``.

    A field that had no value before shows an en dash; a removed line shows ``(removed)``.
    """
    old = _flatten(before if isinstance(before, dict) else {})
    new = _flatten(changes if isinstance(changes, dict) else {})
    rows = []
    for name, value in new.items():
        before_text = old.get(name)
        if before_text is None:
            # A removed line: its old fields, one after the other.
            nested = [(key, text) for key, text in old.items() if key.startswith(f"{name}.")]
            before_text = ", ".join(
                f"{field_label(key).split(': ', 1)[-1]} {text}" for key, text in nested
            )
        rows.append(
            FieldChange(
                field=name, label=field_label(name), before=before_text or "\u2013", after=value
            )
        )
    return rows


def field_label(name: str) -> str:
    """Return the reader's label of an attribute: ``lines.L1.unit_price`` gives
    ``Line L1: unit price``."""
    parts = name.split(".")
    if len(parts) >= 2 and parts[0] == "lines":
        code = parts[1]
        if len(parts) == 2:
            return f"Line {code}"
        attribute = ".".join(parts[2:])
        return f"Line {code}: {FIELD_LABELS.get(attribute, attribute.replace('_', ' '))}"
    label = FIELD_LABELS.get(name, name.replace("_", " ").replace(".", ": "))
    return label[:1].upper() + label[1:]


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, prefix=f"{name}."))
        elif value is None and prefix == "lines.":
            flat[name] = "(removed)"
        else:
            flat[name] = _text(name, value)
    return flat


def _text(name: str, value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    if name == "discounts" and isinstance(value, list):
        return "; ".join(_discount_text(item) for item in value) or "(no discounts)"
    if isinstance(value, str):
        return _decimal_text(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return json.dumps(value, default=str)


def _decimal_text(text: str) -> str:
    """Return a decimal stored with six places (``1000.000000``) with two, as finance writes
    prices, but keep any further significant digit. Other text is returned as it is."""
    if not _DECIMAL.fullmatch(text):
        return text
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


def _discount_text(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    text = f"{_decimal_text(str(item.get('percent')))} %"
    text += f" on line {item['line_code']}" if item.get("line_code") else " on every line"
    if item.get("expires_on"):
        text += f" until {item['expires_on']}"
    if item.get("approval_reference"):
        text += f" (ref. {item['approval_reference']})"
    return text
