"""The applier of change requests to billing schedules.

A schedule change names schedule fields, and under ``lines`` maps line codes to changed line
fields or ``null`` to end the line. Applying it ends each changed line on the effective date
and starts its successor there, so the schedule keeps what was billed before.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone

from billguard.controls.applier_values import (
    decimal_value,
    line_values,
    require_bill_to_of,
    target_int_id,
)
from billguard.controls.appliers import categories_of, changed_attributes, register_applier
from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.controls.request_apply import actor_name
from billguard.controls.services import audit_record
from billguard.domain.currencies import validate_currency
from billguard.domain.errors import InvalidInput, NotFound
from billguard.registry.models import BillingSchedule, BillingScheduleLine
from billguard.registry.models.contracts import Cadence, LineKind
from billguard.registry.services.contracts import TAX_CATEGORIES
from billguard.registry.validation import require_billing_day


@register_applier(Target.SCHEDULE)
class ScheduleApplier:
    """Changes a billing schedule's fields, and its lines from the effective date on."""

    FIELDS = frozenset({"bill_to_id", "currency", "cadence", "billing_day", "customer_po"})
    LINE_FIELDS = frozenset(
        {
            "kind",
            "description",
            "unit_code",
            "quantity",
            "unit_price",
            "discount_percent",
            "gl_account",
            "tax_category",
            "tax_rate",
            "exemption_reason",
        }
    )
    LINE_DECIMALS = frozenset({"quantity", "unit_price", "discount_percent", "tax_rate"})

    def label(self, target_id: str) -> str:
        return f"billing schedule of contract {_schedule(target_id).contract.number}"

    def scope(self, target_id: str) -> tuple[str, str]:
        contract = _schedule(target_id).contract
        return contract.party.customer_group, contract.contract_type

    def categories(self, changes: dict[str, Any]) -> list[str]:
        return categories_of(Target.SCHEDULE, changed_attributes(changes, self.LINE_FIELDS))

    def validate(
        self, target_id: str, changes: dict[str, Any], effective_from: dt.date | None
    ) -> None:
        schedule = _schedule(target_id)
        for name, value in changes.items():
            if name == "lines":
                self._validate_lines(schedule, value, effective_from)
            elif name not in self.FIELDS:
                raise InvalidInput(
                    f"{name!r} is not a billing schedule field a change request can change.",
                    place=f"changes.{name}",
                    fix=f"Use one of: {', '.join(sorted(self.FIELDS))}, lines.",
                )
        if "currency" in changes:
            validate_currency(str(changes["currency"]), place="changes.currency")
        if "cadence" in changes and changes["cadence"] not in Cadence.values:
            raise InvalidInput(
                f"billing cadence {changes['cadence']!r} is unknown.",
                place="changes.cadence",
                value=changes["cadence"],
                fix=f"Use one of: {', '.join(Cadence.values)}.",
            )
        if "billing_day" in changes:
            day = changes["billing_day"]
            if isinstance(day, bool) or not isinstance(day, int):
                raise InvalidInput(
                    f"{day!r} is not a day of the month.",
                    place="changes.billing_day",
                    value=day,
                    fix="Give a whole number from 1 to 31.",
                )
            require_billing_day(day, field="changes.billing_day")
        if "bill_to_id" in changes:
            require_bill_to_of(
                changes["bill_to_id"], schedule.contract.party_id, "changes.bill_to_id"
            )
        start = effective_from or timezone.localdate()
        if "lines" in changes and start < schedule.starts_on:
            raise InvalidInput(
                f"the change would take effect on {start}, before the schedule starts on "
                f"{schedule.starts_on}.",
                place="effective_from",
                value=start,
                fix=f"Give an effective date on or after {schedule.starts_on}.",
            )

    def snapshot(self, target_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        schedule = _schedule(target_id)
        values: dict[str, Any] = {
            name: getattr(schedule, name) for name in changes if name in self.FIELDS
        }
        line_changes = changes.get("lines")
        if isinstance(line_changes, dict):
            latest: dict[str, BillingScheduleLine] = {}
            for line in schedule.lines.order_by("effective_from", "pk"):
                latest[line.line_code] = line
            values["lines"] = {
                code: line_values(latest.get(code), fields, self.LINE_FIELDS)
                for code, fields in line_changes.items()
            }
        return values

    def apply(self, request: ChangeRequest, *, by: User | None) -> dict[str, Any]:
        schedule = BillingSchedule.objects.select_for_update().get(pk=int(request.target_id))
        start = request.effective_from or timezone.localdate()
        fields = [name for name in request.changes if name in self.FIELDS]
        for name in fields:
            setattr(schedule, name, request.changes[name])
        if fields:
            schedule.save(update_fields=[*_field_columns(fields), "updated_at"])
        changed_lines = []
        for code, line_changes in (request.changes.get("lines") or {}).items():
            changed_lines.append(self._apply_line(schedule, code, line_changes, start))
        audit_record(
            actor=actor_name(by),
            action="schedule.change",
            record=schedule,
            before=request.before,
            after={"changes": request.changes, "from": start, "lines": changed_lines},
            reason=request.reason,
        )
        return {"schedule": schedule.pk, "from": start, "lines": changed_lines}

    def _validate_lines(
        self, schedule: BillingSchedule, value: Any, effective_from: dt.date | None
    ) -> None:
        if not isinstance(value, dict):
            raise InvalidInput(
                "lines must map line codes to changed fields.",
                place="changes.lines",
                value=value,
                fix='Give them as {"L1": {"unit_price": "120.00"}}, or null to end a line.',
            )
        codes = set(schedule.lines.values_list("line_code", flat=True))
        for code, line_changes in value.items():
            place = f"changes.lines.{code}"
            if line_changes is None:
                if code not in codes:
                    raise InvalidInput(
                        f"schedule line {code!r} does not exist, so it cannot be ended.",
                        place=place,
                        value=code,
                        fix=f"Use one of: {', '.join(sorted(codes)) or '(no lines)'}.",
                    )
                continue
            if not isinstance(line_changes, dict):
                raise InvalidInput(
                    f"the changes of line {code} must map line fields to values.",
                    place=place,
                    value=line_changes,
                    fix='Give the fields, such as {"unit_price": "120.00"}, or null.',
                )
            unknown = set(line_changes) - self.LINE_FIELDS
            if unknown:
                raise InvalidInput(
                    f"unknown schedule line field(s) {', '.join(sorted(unknown))}.",
                    place=place,
                    fix=f"Use: {', '.join(sorted(self.LINE_FIELDS))}.",
                )
            for key, item in line_changes.items():
                self._validate_line_value(f"{place}.{key}", key, item)
            if code not in codes:
                missing = {"kind", "description", "unit_price"} - set(line_changes)
                if missing:
                    raise InvalidInput(
                        f"new schedule line {code} lacks {', '.join(sorted(missing))}.",
                        place=place,
                        fix="A new line needs at least its kind, description and unit price.",
                    )

    def _validate_line_value(self, place: str, key: str, value: Any) -> None:
        if key in self.LINE_DECIMALS:
            number = decimal_value(place, value, required=key == "unit_price")
            if number is not None and number < 0:
                raise InvalidInput(
                    f"{key} must be zero or more, not {number}.", place=place, value=value
                )
            if key == "discount_percent" and number is not None and number > 100:
                raise InvalidInput(
                    f"a discount of {number}% is more than 100%.",
                    place=place,
                    value=value,
                    fix="Give the discount in percent, from 0 to 100.",
                )
        elif key == "kind" and value not in LineKind.values:
            raise InvalidInput(
                f"line kind {value!r} is unknown.",
                place=place,
                value=value,
                fix=f"Use one of: {', '.join(LineKind.values)}.",
            )
        elif key == "tax_category" and value and value not in TAX_CATEGORIES:
            raise InvalidInput(
                f"tax category {value!r} is not a UNCL 5305 VAT category.",
                place=place,
                value=value,
                fix=f"Use one of: {', '.join(TAX_CATEGORIES)}.",
            )
        elif key not in self.LINE_DECIMALS and not isinstance(value, str):
            raise InvalidInput(
                f"{value!r} is not text.", place=place, value=value, fix="Give it as text."
            )

    def _apply_line(
        self,
        schedule: BillingSchedule,
        code: str,
        line_changes: dict[str, Any] | None,
        start: dt.date,
    ) -> dict[str, Any]:
        """End the line of ``code`` in force on ``start`` and start its successor then.

        A segment that starts on ``start`` is changed in place. Later price steps of the
        line keep their own values, and ending a line removes them.
        """
        lines = schedule.lines.filter(line_code=code)
        in_force = (
            lines.filter(effective_from__lte=start)
            .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=start))
            .order_by("-effective_from")
            .first()
        )
        if line_changes is None:
            lines.filter(effective_from__gte=start).delete()
            if in_force is not None and in_force.effective_from < start:
                in_force.effective_to = start
                in_force.save(update_fields=["effective_to"])
            return {"line_code": code, "ended_on": start}

        values = {key: _line_field(key, value) for key, value in line_changes.items()}
        if in_force is not None and in_force.effective_from == start:
            for key, value in values.items():
                setattr(in_force, key, value)
            in_force.save(update_fields=list(values))
            return {"line_code": code, "changed": in_force.pk}
        if in_force is not None:
            successor = BillingScheduleLine(
                **{
                    field: getattr(in_force, field)
                    for field in (*self.LINE_FIELDS, "bill_on", "schedule_id", "line_code")
                },
                effective_from=start,
                effective_to=in_force.effective_to,
            )
            in_force.effective_to = start
            in_force.save(update_fields=["effective_to"])
        else:
            successor = BillingScheduleLine(schedule=schedule, line_code=code, effective_from=start)
        for key, value in values.items():
            setattr(successor, key, value)
        successor.save()
        return {"line_code": code, "started": successor.pk}


def _schedule(target_id: str) -> BillingSchedule:
    schedule = (
        BillingSchedule.objects.select_related("contract__party")
        .filter(pk=target_int_id(target_id, "billing schedule"))
        .first()
    )
    if schedule is None:
        raise NotFound(
            f"billing schedule {target_id} was not found.",
            place="target_id",
            value=target_id,
            fix="Give the id of an existing billing schedule.",
        )
    return schedule


def _line_field(key: str, value: Any) -> Any:
    if value is not None and key in ScheduleApplier.LINE_DECIMALS:
        return Decimal(str(value))
    return value


def _field_columns(fields: list[str]) -> list[str]:
    return [name.removesuffix("_id") for name in fields]
