"""Usage records, timesheets and milestone acceptances: the quantities billed in arrears."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from billguard.controls.roles import authorize
from billguard.domain.errors import RuleViolation
from billguard.registry.models import Contract, MilestoneAcceptance, Timesheet, UsageRecord
from billguard.registry.validation import require_positive, require_text

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def usage_record_add(
    *,
    contract: Contract,
    line_code: str,
    service_date: dt.date,
    quantity: Decimal,
    external_id: str,
    by: User | None = None,
) -> UsageRecord:
    if by is not None:
        authorize(by, "source_record")
    require_text(external_id, field="external_id")
    require_positive(quantity, field="quantity", allow_zero=True)
    if UsageRecord.objects.filter(external_id=external_id).exists():
        raise RuleViolation(
            f"usage record {external_id!r} was already recorded.",
            place="external_id",
            value=external_id,
        )
    return UsageRecord.objects.create(
        contract=contract,
        line_code=line_code,
        service_date=service_date,
        quantity=quantity,
        external_id=external_id,
    )


def timesheet_add(
    *,
    contract: Contract,
    line_code: str,
    work_date: dt.date,
    hours: Decimal,
    person: str,
    external_id: str,
    by: User | None = None,
) -> Timesheet:
    if by is not None:
        authorize(by, "source_record")
    require_text(person, field="person")
    require_positive(hours, field="hours")
    if hours > 24:
        raise RuleViolation(
            f"{hours} hours on one day is more than a day has.", place="hours", value=hours
        )
    return Timesheet.objects.create(
        contract=contract,
        line_code=line_code,
        work_date=work_date,
        hours=hours,
        person=person,
        external_id=external_id,
    )


def milestone_accept(
    *,
    contract: Contract,
    line_code: str,
    accepted_on: dt.date,
    accepted_by: str,
    by: User | None = None,
) -> MilestoneAcceptance:
    if by is not None:
        authorize(by, "source_record")
    require_text(accepted_by, field="accepted_by")
    if MilestoneAcceptance.objects.filter(contract=contract, line_code=line_code).exists():
        raise RuleViolation(
            f"milestone {line_code} of contract {contract.number} is already accepted.",
            place="line_code",
            value=line_code,
        )
    return MilestoneAcceptance.objects.create(
        contract=contract, line_code=line_code, accepted_on=accepted_on, accepted_by=accepted_by
    )
