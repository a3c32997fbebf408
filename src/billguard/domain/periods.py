"""Billing periods: half-open date ranges cut at a contract's billing day.

A period runs from one billing day up to, not including, the next. A billing day of 29, 30 or
31 falls on the last day of shorter months. Every boundary is computed from the billing day
itself and never from the previous boundary, so it does not drift: billing day 31 gives
Jan 31, Feb 28 (Feb 29 in a leap year), Mar 31, Apr 30.

Dates are calendar dates in the contract's time zone; local_date converts an instant to one.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
import functools
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from billguard.domain.errors import InvalidInput

ACCEPTED_PERIOD_FORMATS = "YYYY-MM (2026-11), YYYY-Qn (2026-Q4) or YYYY (2026)"


class Cadence(enum.Enum):
    """How often a contract is billed."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"

    @property
    def months(self) -> int:
        """Length of one period in months."""
        return _CADENCE_MONTHS[self]


_CADENCE_MONTHS = {Cadence.MONTHLY: 1, Cadence.QUARTERLY: 3, Cadence.YEARLY: 12}


@dataclass(frozen=True, slots=True)
class BillingPeriod:
    """A date range from ``start`` up to, not including, ``end``."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        _validate_date(self.start, place="period start")
        _validate_date(self.end, place="period end")
        if self.end <= self.start:
            raise InvalidInput(
                f"period end {self.end} is not after its start {self.start}.",
                place="period",
                value=(self.start, self.end),
                fix="The end date is exclusive, so a one-day period ends on the following day.",
            )

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days

    @property
    def last_day(self) -> dt.date:
        """Last day inside the period: the inclusive end date of EN 16931 BT-74 and BT-135."""
        return self.end - dt.timedelta(days=1)

    @property
    def label(self) -> str:
        """Name of the period: ``2026-11`` for a calendar month, ``2026-Q4`` for a calendar
        quarter, ``2026`` for a calendar year, and otherwise the first and the last day
        (``2026-01-15..2026-02-14``)."""
        start = self.start
        months = _whole_months(start, self.end)
        if months == 1:
            return f"{start.year:04d}-{start.month:02d}"
        if months == 3 and start.month % 3 == 1:
            return f"{start.year:04d}-Q{(start.month + 2) // 3}"
        if months == 12 and start.month == 1:
            return f"{start.year:04d}"
        return f"{start.isoformat()}..{self.last_day.isoformat()}"

    def contains(self, day: dt.date) -> bool:
        return self.start <= day < self.end

    def overlaps(self, other: BillingPeriod) -> bool:
        """Return whether the two periods share at least one day (adjacent ones do not)."""
        return self.start < other.end and other.start < self.end

    def __str__(self) -> str:
        return self.label


def parse_period(text: str, *, place: str = "period") -> BillingPeriod:
    """Parse a calendar month ``2026-11``, quarter ``2026-Q4`` or year ``2026``.

    Surrounding spaces are ignored and the Q may be lower case. Raises InvalidInput naming the
    value and the accepted formats.
    """
    if not isinstance(text, str):
        raise _invalid_period_label(text, place)
    cleaned = text.strip().upper()

    if match := _YEAR_LABEL.fullmatch(cleaned):
        return _calendar_period(int(match[1]), 1, months=12, text=text, place=place)

    if match := _QUARTER_LABEL.fullmatch(cleaned):
        first_month = (int(match[2]) - 1) * 3 + 1
        return _calendar_period(int(match[1]), first_month, months=3, text=text, place=place)

    if match := _MONTH_LABEL.fullmatch(cleaned):
        month = int(match[2])
        if not 1 <= month <= 12:
            raise _invalid_period_label(text, place)
        return _calendar_period(int(match[1]), month, months=1, text=text, place=place)

    raise _invalid_period_label(text, place)


def period_containing(
    day: dt.date, cadence: Cadence, billing_day: int, *, anchor_month: int = 1
) -> BillingPeriod:
    """Return the billing period that contains ``day``.

    Periods start on ``billing_day`` (1 to 31, or the last day of a shorter month). Monthly
    periods start every month. Quarterly periods start every third month counted from
    ``anchor_month`` (1 to 12), and yearly periods start in ``anchor_month``. The default
    anchor month, January, gives quarters that start in January, April, July and October.
    """
    if (
        type(day) is dt.date
        and type(cadence) is Cadence
        and type(billing_day) is int
        and type(anchor_month) is int
    ):
        return _period_containing_cached(day, cadence, billing_day, anchor_month)
    return _period_containing(day, cadence, billing_day, anchor_month)


def _period_containing(
    day: dt.date, cadence: Cadence, billing_day: int, anchor_month: int
) -> BillingPeriod:
    _validate_date(day, place="day")
    cadence = _validate_cadence(cadence)
    _validate_billing_day(billing_day)
    _validate_anchor_month(anchor_month)

    step = cadence.months
    day_index = _month_index(day)
    phase = (anchor_month - 1) % step
    start_index = day_index - (day_index - phase) % step
    if _boundary(start_index, billing_day) > day:
        start_index -= step

    start = _boundary(start_index, billing_day)
    end = _boundary(start_index + step, billing_day)
    return BillingPeriod(start, end)


# A billing run looks up the periods around the same few days for every contract, and a
# BillingPeriod is immutable, so the results for arguments of exact types are cached. Invalid
# arguments raise, and an exception is not cached.
_period_containing_cached = functools.lru_cache(maxsize=8192)(_period_containing)


def periods_between(
    start: dt.date,
    end: dt.date,
    cadence: Cadence,
    billing_day: int,
    *,
    anchor_month: int = 1,
) -> list[BillingPeriod]:
    """Cut the date range from ``start`` up to, not including, ``end`` at every billing day.

    The periods cover the range without gaps or overlaps, in date order, and an empty range
    gives an empty list. The first and the last period are partial when ``start`` or ``end``
    is not a period boundary. To prorate a partial period, compare it with the full period
    that period_containing returns for its start.
    """
    _validate_date(start, place="start")
    _validate_date(end, place="end")
    if end < start:
        raise InvalidInput(
            f"end {end} is before start {start}.",
            place="end",
            value=end,
            fix="Pass the first day of the range as start and the day after its last day as end.",
        )

    periods = []
    cursor = start
    while cursor < end:
        full_period = period_containing(cursor, cadence, billing_day, anchor_month=anchor_month)
        piece = BillingPeriod(cursor, min(full_period.end, end))
        periods.append(piece)
        cursor = piece.end
    return periods


def split_period(period: BillingPeriod, at: dt.date) -> tuple[BillingPeriod, BillingPeriod]:
    """Split ``period`` into the days before ``at`` and the days from ``at`` on."""
    _validate_date(at, place="split date")
    if not period.start < at < period.end:
        raise InvalidInput(
            f"split date {at} is not inside period {period.label} after its first day.",
            place="split date",
            value=at,
            fix=f"Split on a day from {period.start + dt.timedelta(days=1)} to {period.last_day}.",
        )
    return BillingPeriod(period.start, at), BillingPeriod(at, period.end)


def local_date(instant: dt.datetime, tz_name: str) -> dt.date:
    """Return the calendar date of ``instant`` in the IANA time zone ``tz_name``.

    Raises InvalidInput for a naive datetime, whose time zone is unknown, and for a zone name
    that the system's time zone database (or the tzdata package) does not contain.
    """
    if not isinstance(instant, dt.datetime):
        raise InvalidInput(
            f"{instant!r} is not a datetime.",
            place="instant",
            value=instant,
            fix="Pass a timezone-aware datetime.datetime.",
        )
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidInput(
            f"datetime {instant.isoformat()} is naive, so its time zone is unknown.",
            place="instant",
            value=instant,
            fix="Pass a timezone-aware datetime, for example with tzinfo=datetime.UTC.",
        )

    zone = _load_zone(tz_name)
    return instant.astimezone(zone).date()


_YEAR_LABEL = re.compile(r"(\d{4})")
_QUARTER_LABEL = re.compile(r"(\d{4})-Q([1-4])")
_MONTH_LABEL = re.compile(r"(\d{4})-(\d{2})")


def _calendar_period(
    year: int, first_month: int, *, months: int, text: str, place: str
) -> BillingPeriod:
    start_index = year * 12 + first_month - 1
    if not _index_in_date_range(start_index) or not _index_in_date_range(start_index + months):
        raise InvalidInput(
            f"period {text!r} reaches outside the supported dates.",
            place=place,
            value=text,
            fix="Use a period from 0001-01-01 to 9999-12-30, because its end date is exclusive.",
        )
    return BillingPeriod(_boundary(start_index, 1), _boundary(start_index + months, 1))


def _invalid_period_label(text: object, place: str) -> InvalidInput:
    return InvalidInput(
        f"{text!r} is not a valid period.",
        place=place,
        value=text,
        fix=f"Write it as {ACCEPTED_PERIOD_FORMATS}.",
    )


def _load_zone(tz_name: object) -> ZoneInfo:
    fix = "Use an IANA time zone name such as Europe/Berlin, America/New_York or UTC."
    if not isinstance(tz_name, str):
        raise InvalidInput(
            f"{tz_name!r} is not a time zone name.", place="time zone", value=tz_name, fix=fix
        )
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError) as error:
        # ZoneInfo raises ValueError for keys that are not relative paths inside the
        # database (empty, absolute, "..") and for files there that are not zone data, and
        # with the tzdata package, IsADirectoryError for a region folder such as "Europe".
        raise InvalidInput(
            f"{tz_name!r} is not a known time zone.", place="time zone", value=tz_name, fix=fix
        ) from error


def _whole_months(start: dt.date, end: dt.date) -> int | None:
    """Number of calendar months from ``start`` to ``end`` if both are first days of a month."""
    if start.day != 1 or end.day != 1:
        return None
    return _month_index(end) - _month_index(start)


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _index_in_date_range(month_index: int) -> bool:
    return dt.MINYEAR <= month_index // 12 <= dt.MAXYEAR


def _boundary(month_index: int, billing_day: int) -> dt.date:
    """Billing day in the month ``month_index``, moved back to the month's last day if needed."""
    if not _index_in_date_range(month_index):
        raise InvalidInput(
            "the billing period reaches outside the years 1 to 9999.",
            place="billing period",
            value=month_index // 12,
            fix="Use dates well inside the years 1 to 9999.",
        )
    year, month_offset = divmod(month_index, 12)
    month = month_offset + 1
    days_in_month = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(billing_day, days_in_month))


def _validate_date(value: object, *, place: str) -> None:
    # datetime is a subclass of date, but a period boundary needs a calendar date in the
    # contract's time zone, so an instant is rejected instead of silently truncated.
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise InvalidInput(
            f"{value!r} is not a date.",
            place=place,
            value=value,
            fix="Pass a datetime.date; convert an instant with local_date() first.",
        )


def _validate_cadence(value: object) -> Cadence:
    if isinstance(value, Cadence):
        return value
    try:
        return Cadence(value)
    except ValueError:
        accepted = ", ".join(cadence.value for cadence in Cadence)
        raise InvalidInput(
            f"{value!r} is not a billing cadence.",
            place="cadence",
            value=value,
            fix=f"Use one of {accepted}.",
        ) from None


def _validate_billing_day(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 31:
        raise InvalidInput(
            f"billing day {value!r} is invalid.",
            place="billing day",
            value=value,
            fix="Use a day of the month from 1 to 31. Days 29 to 31 bill on the last day of "
            "shorter months.",
        )


def _validate_anchor_month(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 12:
        raise InvalidInput(
            f"anchor month {value!r} is invalid.",
            place="anchor month",
            value=value,
            fix="Use a month number from 1 to 12.",
        )
