"""Billing periods: labels, billing days at month ends, cadences, time zones."""

import calendar
import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billguard.domain.errors import InvalidInput
from billguard.domain.periods import (
    BillingPeriod,
    Cadence,
    local_date,
    parse_period,
    period_containing,
    periods_between,
    split_period,
)

# derandomize=True makes Hypothesis generate the same examples on every run.
DETERMINISTIC = settings(derandomize=True, deadline=None, max_examples=300)

days = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31))
billing_days = st.integers(min_value=1, max_value=31)
cadences = st.sampled_from(list(Cadence))
anchor_months = st.integers(min_value=1, max_value=12)


def period(start: str, end: str) -> BillingPeriod:
    return BillingPeriod(dt.date.fromisoformat(start), dt.date.fromisoformat(end))


# BillingPeriod


def test_period_days_and_last_day() -> None:
    february = period("2024-02-01", "2024-03-01")

    assert february.days == 29
    assert february.last_day == dt.date(2024, 2, 29)


def test_period_end_is_exclusive() -> None:
    november = period("2026-11-01", "2026-12-01")

    assert november.contains(dt.date(2026, 11, 1))
    assert november.contains(dt.date(2026, 11, 30))
    assert not november.contains(dt.date(2026, 12, 1))
    assert not november.contains(dt.date(2026, 10, 31))


def test_period_overlaps() -> None:
    november = period("2026-11-01", "2026-12-01")

    assert november.overlaps(period("2026-11-30", "2026-12-15"))
    assert november.overlaps(period("2026-10-01", "2027-01-01"))
    assert not november.overlaps(period("2026-12-01", "2027-01-01"))
    assert not november.overlaps(period("2026-10-01", "2026-11-01"))


@pytest.mark.parametrize(
    ("start", "end", "label"),
    [
        ("2026-11-01", "2026-12-01", "2026-11"),
        ("2026-10-01", "2027-01-01", "2026-Q4"),
        ("2026-01-01", "2027-01-01", "2026"),
        ("2026-01-15", "2026-02-15", "2026-01-15..2026-02-14"),
        ("2026-02-01", "2026-05-01", "2026-02-01..2026-04-30"),
        ("2026-07-01", "2027-07-01", "2026-07-01..2027-06-30"),
    ],
)
def test_period_label(start: str, end: str, label: str) -> None:
    assert period(start, end).label == label


def test_period_rejects_end_not_after_start() -> None:
    with pytest.raises(InvalidInput):
        period("2026-11-01", "2026-11-01")
    with pytest.raises(InvalidInput):
        period("2026-11-02", "2026-11-01")


def test_period_rejects_datetime() -> None:
    instant = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

    with pytest.raises(InvalidInput):
        BillingPeriod(instant, dt.date(2026, 12, 1))


# parse_period


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-11", dt.date(2026, 11, 1), dt.date(2026, 12, 1)),
        ("2026-12", dt.date(2026, 12, 1), dt.date(2027, 1, 1)),
        ("2026-Q4", dt.date(2026, 10, 1), dt.date(2027, 1, 1)),
        ("2026-q1", dt.date(2026, 1, 1), dt.date(2026, 4, 1)),
        ("2026", dt.date(2026, 1, 1), dt.date(2027, 1, 1)),
        (" 2024-02 ", dt.date(2024, 2, 1), dt.date(2024, 3, 1)),
    ],
)
def test_parse_period_formats(text: str, start: dt.date, end: dt.date) -> None:
    assert parse_period(text) == BillingPeriod(start, end)


@pytest.mark.parametrize(
    "text", ["", "2026-13", "2026-00", "2026-Q5", "2026-Q0", "26-11", "2026/11", "2026-1", "Q4"]
)
def test_parse_period_rejects_malformed(text: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_period(text)

    assert repr(text) in error.value.message
    assert "2026-Q4" in (error.value.fix or "")


@pytest.mark.parametrize("text", ["0000", "9999", "9999-12", "9999-Q4"])
def test_parse_period_rejects_out_of_date_range(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_period(text)


@DETERMINISTIC
@given(period_start=st.sampled_from(["2026", "2026-Q2", "2026-07", "2024-02", "1999-Q4"]))
def test_parse_period_label_round_trip(period_start: str) -> None:
    assert parse_period(period_start).label == period_start


# period_containing and periods_between


def test_billing_day_31_through_leap_february() -> None:
    periods = periods_between(
        dt.date(2024, 1, 31), dt.date(2024, 5, 31), Cadence.MONTHLY, billing_day=31
    )

    assert periods == [
        period("2024-01-31", "2024-02-29"),
        period("2024-02-29", "2024-03-31"),
        period("2024-03-31", "2024-04-30"),
        period("2024-04-30", "2024-05-31"),
    ]


def test_billing_day_31_in_common_year_february() -> None:
    february = period_containing(dt.date(2025, 2, 28), Cadence.MONTHLY, 31)

    assert february == period("2025-02-28", "2025-03-31")
    assert february.days == 31


def test_quarterly_with_billing_day_30() -> None:
    quarters = periods_between(
        dt.date(2025, 11, 30), dt.date(2026, 11, 30), Cadence.QUARTERLY, 30, anchor_month=2
    )

    assert quarters == [
        period("2025-11-30", "2026-02-28"),
        period("2026-02-28", "2026-05-30"),
        period("2026-05-30", "2026-08-30"),
        period("2026-08-30", "2026-11-30"),
    ]


def test_quarterly_default_anchor_is_calendar_quarters() -> None:
    assert period_containing(dt.date(2026, 11, 15), Cadence.QUARTERLY, 1) == parse_period("2026-Q4")


def test_quarterly_day_before_billing_day() -> None:
    found = period_containing(dt.date(2026, 1, 29), Cadence.QUARTERLY, 30)

    assert found == period("2025-10-30", "2026-01-30")


def test_yearly_anchor_leap_day() -> None:
    years = periods_between(
        dt.date(2024, 2, 29), dt.date(2028, 2, 29), Cadence.YEARLY, 29, anchor_month=2
    )

    assert [year.start for year in years] == [
        dt.date(2024, 2, 29),
        dt.date(2025, 2, 28),
        dt.date(2026, 2, 28),
        dt.date(2027, 2, 28),
    ]
    assert years[-1].end == dt.date(2028, 2, 29)


def test_periods_between_partial_edges() -> None:
    periods = periods_between(dt.date(2026, 1, 10), dt.date(2026, 3, 20), Cadence.MONTHLY, 15)

    assert periods == [
        period("2026-01-10", "2026-01-15"),
        period("2026-01-15", "2026-02-15"),
        period("2026-02-15", "2026-03-15"),
        period("2026-03-15", "2026-03-20"),
    ]


def test_periods_between_empty_range() -> None:
    assert periods_between(dt.date(2026, 1, 1), dt.date(2026, 1, 1), Cadence.MONTHLY, 1) == []


def test_periods_between_rejects_reversed_range() -> None:
    with pytest.raises(InvalidInput):
        periods_between(dt.date(2026, 2, 1), dt.date(2026, 1, 1), Cadence.MONTHLY, 1)


@pytest.mark.parametrize("billing_day", [0, 32, -1, True, "1"])
def test_period_containing_rejects_billing_day(billing_day: object) -> None:
    with pytest.raises(InvalidInput):
        period_containing(dt.date(2026, 1, 1), Cadence.MONTHLY, billing_day)  # type: ignore[arg-type]


@pytest.mark.parametrize("anchor_month", [0, 13])
def test_period_containing_rejects_anchor_month(anchor_month: int) -> None:
    with pytest.raises(InvalidInput):
        period_containing(dt.date(2026, 1, 1), Cadence.QUARTERLY, 1, anchor_month=anchor_month)


def test_period_containing_accepts_cadence_value() -> None:
    found = period_containing(dt.date(2026, 5, 5), "quarterly", 1)  # type: ignore[arg-type]

    assert found == parse_period("2026-Q2")


def test_period_containing_rejects_unknown_cadence() -> None:
    with pytest.raises(InvalidInput):
        period_containing(dt.date(2026, 5, 5), "weekly", 1)  # type: ignore[arg-type]


def test_period_containing_rejects_end_of_date_range() -> None:
    with pytest.raises(InvalidInput):
        period_containing(dt.date(9999, 12, 31), Cadence.MONTHLY, 1)


@DETERMINISTIC
@given(day=days, cadence=cadences, billing_day=billing_days, anchor_month=anchor_months)
def test_period_containing_contains_day(
    day: dt.date, cadence: Cadence, billing_day: int, anchor_month: int
) -> None:
    found = period_containing(day, cadence, billing_day, anchor_month=anchor_month)

    assert found.contains(day)
    assert (found.start.month - anchor_month) % cadence.months == 0
    for boundary in (found.start, found.end):
        days_in_month = calendar.monthrange(boundary.year, boundary.month)[1]
        assert boundary.day == min(billing_day, days_in_month)


@DETERMINISTIC
@given(day=days, cadence=cadences, billing_day=billing_days, anchor_month=anchor_months)
def test_period_containing_is_next_of_previous(
    day: dt.date, cadence: Cadence, billing_day: int, anchor_month: int
) -> None:
    found = period_containing(day, cadence, billing_day, anchor_month=anchor_month)

    following = period_containing(found.end, cadence, billing_day, anchor_month=anchor_month)

    assert following.start == found.end
    assert following.days >= 28 * cadence.months


@DETERMINISTIC
@given(
    start=days,
    length=st.integers(min_value=0, max_value=800),
    cadence=cadences,
    billing_day=billing_days,
)
def test_periods_between_tile_range(
    start: dt.date, length: int, cadence: Cadence, billing_day: int
) -> None:
    end = start + dt.timedelta(days=length)

    periods = periods_between(start, end, cadence, billing_day)

    assert sum(piece.days for piece in periods) == length
    if periods:
        assert periods[0].start == start
        assert periods[-1].end == end
    for before, after in itertools.pairwise(periods):
        assert before.end == after.start
    for piece in periods:
        full = period_containing(piece.start, cadence, billing_day)
        assert full.start <= piece.start
        assert piece.end <= full.end


# split_period


def test_split_period() -> None:
    november = parse_period("2026-11")

    first, second = split_period(november, dt.date(2026, 11, 11))

    assert first == period("2026-11-01", "2026-11-11")
    assert second == period("2026-11-11", "2026-12-01")
    assert first.days + second.days == november.days


@pytest.mark.parametrize("at", ["2026-11-01", "2026-12-01", "2026-10-15", "2026-12-15"])
def test_split_period_rejects_outside(at: str) -> None:
    with pytest.raises(InvalidInput):
        split_period(parse_period("2026-11"), dt.date.fromisoformat(at))


# local_date


def test_local_date_crosses_midnight() -> None:
    instant = dt.datetime(2026, 1, 31, 23, 30, tzinfo=dt.UTC)

    assert local_date(instant, "Europe/Berlin") == dt.date(2026, 2, 1)
    assert local_date(instant, "America/New_York") == dt.date(2026, 1, 31)
    assert local_date(instant, "UTC") == dt.date(2026, 1, 31)


def test_local_date_on_dst_change() -> None:
    # Europe/Berlin moves from UTC+1 to UTC+2 at 01:00 UTC on 2026-03-29.
    instant = dt.datetime(2026, 3, 28, 22, 30, tzinfo=dt.UTC)

    assert local_date(instant, "Europe/Berlin") == dt.date(2026, 3, 28)
    assert local_date(instant + dt.timedelta(hours=1), "Europe/Berlin") == dt.date(2026, 3, 29)


def test_local_date_from_other_zone() -> None:
    instant = dt.datetime(2026, 7, 1, 8, 0, tzinfo=ZoneInfo("Asia/Tokyo"))

    assert local_date(instant, "America/Los_Angeles") == dt.date(2026, 6, 30)


def test_local_date_rejects_naive_datetime() -> None:
    naive = dt.datetime(2026, 1, 1, 12, 0)  # noqa: DTZ001

    with pytest.raises(InvalidInput) as error:
        local_date(naive, "Europe/Berlin")

    assert "naive" in error.value.message


@pytest.mark.parametrize("zone", ["Mars/Olympus", "europe/berlin", "", "Europe", "/etc/localtime"])
def test_local_date_rejects_unknown_zone(zone: str) -> None:
    instant = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    with pytest.raises(InvalidInput) as error:
        local_date(instant, zone)

    assert error.value.value == zone
