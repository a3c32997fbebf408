"""Dates of the sample company: its as-of date, the months it has history for, month steps."""

from __future__ import annotations

import calendar
import datetime as dt

AS_OF = dt.date(2026, 11, 1)
# The demo bills November 2026; usage and timesheets exist up to the end of October, the
# arrears period of that run.
RUN_MONTH = dt.date(2026, 11, 1)
ACTIVITY_END = dt.date(2026, 11, 1)
# The oldest contracts started in November 2025, so invoice history starts that month.
HISTORY_START = dt.date(2025, 11, 1)


def add_months(first_of_month: dt.date, months: int) -> dt.date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def billing_boundary(first_of_month: dt.date, billing_day: int) -> dt.date:
    """Return the billing day in that month, or the month's last day in a shorter month."""
    days = calendar.monthrange(first_of_month.year, first_of_month.month)[1]
    return first_of_month.replace(day=min(billing_day, days))


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Return the first days of the months from ``start``'s month up to, not including, ``end``."""
    months = []
    current = start.replace(day=1)
    while current < end:
        months.append(current)
        current = add_months(current, 1)
    return months
