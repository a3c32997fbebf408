"""Usage records and timesheets of the sample contracts: the quantities billed in arrears."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from billguard.sample import reference_data as ref
from billguard.sample.calendar import months_between
from billguard.sample.plans import TimesheetRow, UsageRow

TIMESHEET_HOURS = tuple(Decimal(h) for h in ("2", "3", "4", "4.5", "6", "7.5", "8"))


def usage_rows(
    rng: random.Random,
    line_code: str,
    start: dt.date,
    end: dt.date,
    reading_range: tuple[int, int],
) -> list[UsageRow]:
    """Draw four readings a month (3rd, 10th, 17th, 24th) from ``start`` up to ``end``."""
    rows = []
    for month in months_between(start, end):
        for day in (3, 10, 17, 24):
            service_date = month.replace(day=day)
            if start <= service_date < end:
                quantity = Decimal(rng.randint(*reading_range))
                rows.append(UsageRow(line_code, service_date, quantity))
    return rows


def timesheet_rows(
    rng: random.Random, line_code: str, start: dt.date, end: dt.date
) -> list[TimesheetRow]:
    """Draw six to twelve working days a month, two to eight hours each, from ``start``."""
    rows = []
    for month in months_between(start, end):
        working_days = []
        for offset in range(31):
            day = month + dt.timedelta(days=offset)
            if day.month == month.month and day.weekday() < 5 and start <= day < end:
                working_days.append(day)

        count = min(len(working_days), rng.randint(6, 12))
        for day in sorted(rng.sample(working_days, count)):
            hours = rng.choice(TIMESHEET_HOURS)
            rows.append(TimesheetRow(line_code, day, hours, rng.choice(ref.CONSULTANTS)))
    return rows
