"""The dashboard figures against small cases worked out by hand.

The receivables case (tests/receivables/conftest.py): three invoices of 1190.00 EUR issued
on 2026-09-01, 2026-10-01 and 2026-11-01 (ADE-000001 to ADE-000003), Net 30.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billguard.billing.models import Invoice
from billguard.domain.errors import InvalidInput
from billguard.domain.periods import parse_period
from billguard.insights.kpis import (
    dso_series,
    invoice_figures,
    last_complete_month,
    month_param,
    months_ending,
)
from billguard.receivables.disputes import dispute_open, dispute_resolve
from billguard.receivables.kpis import days_sales_outstanding
from tests.receivables.conftest import Receivables

pytestmark = pytest.mark.django_db

D = Decimal
SEP_TO_NOV = months_ending(parse_period("2026-11"), 3)


def values(points) -> list[Decimal | None]:  # type: ignore[no-untyped-def]
    return [point.value for point in points]


def late_payments(receivables: Receivables) -> None:
    """September paid on time, October paid after November ends, November in part."""
    receivables.pay("1190.00", dt.date(2026, 10, 1), "ADE-000001")
    receivables.pay("400.00", dt.date(2026, 11, 25), "ADE-000003")
    receivables.pay("1190.00", dt.date(2026, 12, 3), "ADE-000002")


def test_months_ending_gives_twelve_months_oldest_first():
    periods = months_ending(parse_period("2026-02"))

    assert len(periods) == 12
    assert periods[0].label == "2025-03"
    assert periods[-1].label == "2026-02"


def test_last_complete_month_is_the_month_before():
    assert last_complete_month(dt.date(2026, 1, 15)).label == "2025-12"
    assert month_param("", dt.date(2026, 12, 5)).label == "2026-11"
    assert month_param("2026-06", dt.date(2026, 12, 5)).label == "2026-06"


def test_month_param_rejects_a_quarter():
    with pytest.raises(InvalidInput) as raised:
        month_param("2026-Q4", dt.date(2026, 12, 5))

    assert "2026-Q4" in str(raised.value)
    assert "YYYY-MM" in str(raised.value)


def test_dso_series_by_hand(receivables: Receivables):
    late_payments(receivables)

    series = dso_series(SEP_TO_NOV)

    # September: open on 09-30 ADE-000001 1190.00 (paid 10-01); sales 1190.00; 30 days: 30.0.
    # October: open on 10-31 ADE-000002 1190.00; sales 1190.00; 31 days: 31.0.
    # November: open on 11-30 ADE-000002 1190.00 + ADE-000003 790.00 = 1980.00; sales
    # 1190.00; 30 days: 1980.00 / 1190.00 x 30 = 49.916 -> 49.9.
    assert list(series) == ["EUR"]
    assert values(series["EUR"]) == [D("30.0"), D("31.0"), D("49.9")]


def test_dso_series_equals_dso_of_each_month(receivables: Receivables):
    late_payments(receivables)

    series = dso_series(SEP_TO_NOV)

    for point in series["EUR"]:
        assert point.value == days_sales_outstanding(point.period, "EUR")


def test_dso_series_counts_credit_notes(receivables: Receivables):
    late_payments(receivables)
    dispute = dispute_open(
        invoice=receivables.november,
        opened_on=dt.date(2026, 11, 5),
        reason="wrong_quantity",
        amount=D("1190.00"),
        by=receivables.finance,
    )
    dispute_resolve(
        dispute=dispute,
        reissue=False,
        note="Not delivered",
        issue_date=dt.date(2026, 11, 20),
        quantities={"1": D("0.5")},
        by=receivables.finance,
    )

    series = dso_series(SEP_TO_NOV)

    # November: the credit note of 595.00 lowers sales to 595.00 and ADE-000003's open
    # amount to 195.00. Open: 1190.00 + 195.00 = 1385.00; 1385.00 / 595.00 x 30 = 69.8.
    assert values(series["EUR"])[2] == D("69.8")


def test_dso_series_floors_an_over_settled_invoice(receivables: Receivables):
    receivables.pay("1190.00", dt.date(2026, 11, 10), "ADE-000003")
    dispute = dispute_open(
        invoice=receivables.november,
        opened_on=dt.date(2026, 11, 12),
        reason="wrong_quantity",
        amount=D("1190.00"),
        by=receivables.finance,
    )
    dispute_resolve(
        dispute=dispute,
        reissue=False,
        note="Half not delivered",
        issue_date=dt.date(2026, 11, 20),
        quantities={"1": D("0.5")},
        by=receivables.finance,
    )

    series = dso_series(SEP_TO_NOV)

    # On 11-30 ADE-000003 is paid 1190.00 and credited 595.00: settled 595.00 beyond its
    # payable, so it counts 0, not -595.00. Open: ADE-000001 and ADE-000002, 2380.00.
    # Sales of November: 1190.00 - 595.00 = 595.00. DSO = 2380.00 / 595.00 x 30 = 120.0.
    assert values(series["EUR"])[2] == D("120.0")
    assert days_sales_outstanding(parse_period("2026-11"), "EUR") == D("120.0")


def test_dso_series_is_per_currency(receivables: Receivables):
    Invoice.objects.filter(pk=receivables.october.pk).update(currency="USD")

    series = dso_series(SEP_TO_NOV)

    assert sorted(series) == ["EUR", "USD"]
    # USD: only ADE-000002, open on 10-31 and 11-30; sales in October only.
    assert values(series["USD"]) == [None, D("31.0"), None]
    # EUR: September as before; November open 1190.00 + 1190.00 = 2380.00 (ADE-000001
    # unpaid here), sales 1190.00: 60.0.
    assert values(series["EUR"]) == [D("30.0"), None, D("60.0")]


def test_dispute_rate_reissues_and_touchless_by_month(receivables: Receivables):
    dispute = dispute_open(
        invoice=receivables.october,
        opened_on=dt.date(2026, 10, 10),
        reason="wrong_price",
        amount=D("100.00"),
        by=receivables.finance,
    )
    dispute_resolve(
        dispute=dispute,
        reissue=True,
        note="Corrected",
        issue_date=dt.date(2026, 11, 15),
        by=receivables.finance,
    )

    figures = invoice_figures(SEP_TO_NOV)

    # Issued: September ADE-000001; October ADE-000002 (disputed); November ADE-000003 and
    # the reissue of ADE-000002. The credit note is not an invoice.
    assert values(figures.issued) == [D(1), D(1), D(2)]
    assert values(figures.dispute_rate) == [D("0.0000"), D("1.0000"), D("0.0000")]
    assert values(figures.reissues) == [D(0), D(0), D(1)]
    # The reissue was drafted by a person resolving the dispute: 1 touchless of 2.
    assert values(figures.touchless_rate) == [D("1.0000"), D("1.0000"), D("0.5000")]


def test_months_without_invoices_have_no_rate(receivables: Receivables):
    figures = invoice_figures(months_ending(parse_period("2026-08"), 2))

    assert values(figures.dispute_rate) == [None, None]
    assert values(figures.touchless_rate) == [None, None]
    assert values(figures.reissues) == [D(0), D(0)]
