"""Lookups and value checks that the appliers of change requests share."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billguard.controls.models import ChangeRequest
from billguard.controls.request_apply import actor_name
from billguard.domain.errors import InvalidInput
from billguard.registry.models import BillToEntity


def approvers_text(request: ChangeRequest) -> str:
    """Name the people whose approvals the request counted: ``ann, bob for carol``."""
    names = []
    for approval in request.approvals.select_related("approver", "on_behalf_of").order_by("pk"):
        if approval.decision != approval.Decision.APPROVE:
            continue
        name = approval.approver.get_username()
        if approval.on_behalf_of is not None:
            name += f" for {approval.on_behalf_of.get_username()}"
        names.append(name)
    return ", ".join(names) or actor_name(request.requested_by)


def target_int_id(target_id: str, kind: str) -> int:
    try:
        return int(target_id)
    except ValueError:
        raise InvalidInput(
            f"{target_id!r} is not a {kind} id.",
            place="target_id",
            value=target_id,
            fix="Give the numeric id.",
        ) from None


def require_bill_to_of(bill_to_id: Any, party_id: int, place: str) -> None:
    if bill_to_id is None:
        return
    bill_to = BillToEntity.objects.filter(pk=bill_to_id).first()
    if bill_to is None:
        raise InvalidInput(
            f"bill-to entity {bill_to_id} does not exist.",
            place=place,
            value=bill_to_id,
            fix="Give the id of an existing bill-to entity of the customer.",
        )
    if bill_to.party_id != party_id:
        raise InvalidInput(
            f"bill-to entity {bill_to.code} belongs to another party.",
            place=place,
            value=bill_to_id,
            fix="Give a bill-to entity of the contract's customer.",
        )


def line_values(
    line: object | None, changes: dict[str, Any] | None, all_fields: frozenset[str]
) -> dict[str, Any] | None:
    """Return the current values of the line fields that ``changes`` names.

    A line to be removed (``changes`` is None) returns every field, and a line that does not
    exist yet returns None.
    """
    if line is None:
        return None
    names = sorted(all_fields) if changes is None else [n for n in changes if n in all_fields]
    return {name: getattr(line, name) for name in names}


def decimal_value(place: str, value: Any, *, required: bool) -> Decimal | None:
    if value is None:
        if required:
            raise InvalidInput(f"{place} is empty.", place=place, fix="Give a number.")
        return None
    if isinstance(value, float | bool):
        raise InvalidInput(
            f"{value!r} is not an exact decimal number.",
            place=place,
            value=value,
            fix='Give the number as text, such as "120.00", so that no digit is lost.',
        )
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise InvalidInput(
            f"{value!r} is not a number.",
            place=place,
            value=value,
            fix='Give the number as text, such as "120.00".',
        ) from None
