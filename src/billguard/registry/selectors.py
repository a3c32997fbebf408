"""Reads of the registry that more than one channel shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from billguard.registry.models import (
    Amendment,
    BillingSchedule,
    ContractLine,
    ContractVersion,
    PriceListItem,
)
from billguard.registry.pricing import approved_discount, price_on


@dataclass(frozen=True)
class ScheduleChange:
    """One field of a billing-schedule line that an approved amendment changes."""

    line_code: str
    field: str
    current: str
    proposed: str


def amendment_schedule_proposal(amendment: Amendment) -> list[ScheduleChange]:
    """List the schedule changes that bring the billing schedule in line with an amendment.

    Compares the schedule lines in force on the amendment's effective date with the lines of
    the version the amendment created; ``schedule_apply_amendment`` makes exactly these
    changes. An empty list means the schedule already matches.
    """
    version = (
        ContractVersion.objects.filter(amendment=amendment)
        .prefetch_related("lines", "discounts", "price_changes")
        .first()
    )
    schedule = BillingSchedule.objects.filter(contract_id=amendment.contract_id).first()
    if version is None or schedule is None:
        return []
    day = amendment.effective_from
    in_force = {
        line.line_code: line
        for line in schedule.lines.all()
        if line.effective_from <= day and (line.effective_to is None or day < line.effective_to)
    }
    items = list(PriceListItem.objects.filter(price_list_id=version.price_list_id))
    changes: list[ScheduleChange] = []
    proposed_codes = set()
    for line in version.lines.all():
        proposed_codes.add(line.line_code)
        proposed = _schedule_line_terms(version, line, day, items)
        current = in_force.get(line.line_code)
        if current is None:
            changes.append(ScheduleChange(line.line_code, "line", "(none)", line.description))
            continue
        for field, value in proposed.items():
            if not _same(getattr(current, field), value):
                changes.append(
                    ScheduleChange(
                        line.line_code, field, _text(getattr(current, field)), _text(value)
                    )
                )
    for code, current_line in sorted(in_force.items()):
        if code not in proposed_codes:
            changes.append(ScheduleChange(code, "line", current_line.description, "(removed)"))
    if schedule.bill_to_id != version.bill_to_id:
        changes.append(
            ScheduleChange("", "bill_to", str(schedule.bill_to_id), str(version.bill_to_id))
        )
    if schedule.customer_po != version.customer_po:
        changes.append(ScheduleChange("", "customer_po", schedule.customer_po, version.customer_po))
    return changes


def schedule_changes_for_version(version: ContractVersion, day: dt.date) -> dict[str, Any]:
    """Return the schedule change request that brings the schedule in line with ``version``.

    The result has the shape the schedule applier takes: changed schedule fields, and under
    ``lines`` each changed line's fields (a new line with every field, ``None`` for a line the
    version no longer has). Empty when there is no schedule or it already matches.
    """
    schedule = BillingSchedule.objects.filter(contract_id=version.contract_id).first()
    if schedule is None:
        return {}
    in_force = {
        line.line_code: line
        for line in schedule.lines.all()
        if line.effective_from <= day and (line.effective_to is None or day < line.effective_to)
    }
    items = list(PriceListItem.objects.filter(price_list_id=version.price_list_id))
    lines: dict[str, Any] = {}
    for line in version.lines.all():
        proposed = _schedule_line_terms(version, line, day, items)
        current = in_force.pop(line.line_code, None)
        if current is None:
            proposed.update(kind=line.kind, description=line.description, unit_code=line.unit_code)
            lines[line.line_code] = {k: _json(v) for k, v in proposed.items() if v is not None}
            continue
        changed = {k: _json(v) for k, v in proposed.items() if not _same(getattr(current, k), v)}
        if changed:
            lines[line.line_code] = changed
    for code in sorted(in_force):
        lines[code] = None
    changes: dict[str, Any] = {}
    if schedule.bill_to_id != version.bill_to_id and version.bill_to_id is not None:
        changes["bill_to_id"] = version.bill_to_id
    if schedule.customer_po != version.customer_po:
        changes["customer_po"] = version.customer_po
    if lines:
        changes["lines"] = lines
    return changes


def _schedule_line_terms(
    version: ContractVersion, line: ContractLine, day: dt.date, items: list[PriceListItem]
) -> dict[str, Any]:
    """Return the schedule line fields that ``line`` of ``version`` sets on ``day``."""
    quote = price_on(version, line, day, items)
    discount = approved_discount(version, line.line_code, day)
    return {
        "unit_price": quote.unit_price,
        "quantity": line.quantity,
        "discount_percent": discount.percent if discount else None,
        "tax_category": line.tax_category or version.tax_category,
        "tax_rate": line.tax_rate if line.tax_category else version.tax_rate,
        "gl_account": line.gl_account,
    }


def _json(value: object) -> object:
    return f"{value.normalize():f}" if isinstance(value, Decimal) else value


def _same(current: object, proposed: object) -> bool:
    if isinstance(current, Decimal) or isinstance(proposed, Decimal):
        if current is None or proposed is None:
            return current is None and proposed is None
        return Decimal(str(current)) == Decimal(str(proposed))
    return (current or "") == (proposed or "")


def _text(value: object) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
