import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest

from billguard.domain.periods import parse_period
from billguard.receivables.ageing import (
    ageing_csv,
    ageing_json,
    ageing_table,
    bucket_of,
    receivables_ageing,
)
from billguard.receivables.disputes import dispute_open, dispute_resolve
from billguard.receivables.kpis import (
    credit_sales,
    days_sales_outstanding,
    invoice_dispute_rate,
    reissue_count,
)
from tests.receivables.conftest import Receivables

pytestmark = pytest.mark.django_db

D = Decimal


def late_payments(receivables: Receivables) -> None:
    """September paid on time, October paid late after November ends, November in part."""
    receivables.pay("1190.00", dt.date(2026, 10, 1), "ADE-000001")
    receivables.pay("400.00", dt.date(2026, 11, 25), "ADE-000003")
    receivables.pay("1190.00", dt.date(2026, 12, 3), "ADE-000002")


def test_dso_of_month(receivables: Receivables):
    late_payments(receivables)

    # Open on 2026-11-30: ADE-000002 1190.00 (paid only on 12-03) and ADE-000003
    # 1190.00 - 400.00 = 790.00, so 1980.00. Credit sales of November: ADE-000003, 1190.00.
    # DSO = 1980.00 / 1190.00 x 30 days = 49.916 -> 49.9.
    assert days_sales_outstanding(parse_period("2026-11"), "EUR") == D("49.9")


def test_dso_of_quarter(receivables: Receivables):
    late_payments(receivables)

    # Open on 2026-12-31: ADE-000003's 790.00 only. Credit sales of Q4: ADE-000002 and
    # ADE-000003, 2380.00. Days: October 31 + November 30 + December 31 = 92.
    # DSO = 790.00 / 2380.00 x 92 = 30.538 -> 30.5.
    assert days_sales_outstanding(parse_period("2026-Q4"), "EUR") == D("30.5")


def test_dso_counts_credit_notes(receivables: Receivables):
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

    # The credit note of 595.00 lowers November's credit sales to 1190.00 - 595.00 = 595.00
    # and ADE-000003's open amount on 11-30 to 1190.00 - 595.00 - 400.00 = 195.00.
    # Open: 1190.00 + 195.00 = 1385.00. DSO = 1385.00 / 595.00 x 30 = 69.832 -> 69.8.
    assert credit_sales(parse_period("2026-11"), "EUR") == D("595.00")
    assert days_sales_outstanding(parse_period("2026-11"), "EUR") == D("69.8")


def test_dso_without_sales_is_none(receivables: Receivables):
    assert days_sales_outstanding(parse_period("2026-11"), "USD") is None


def test_dispute_rate_and_reissue_count(receivables: Receivables):
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

    # Issued in Q4: ADE-000002 (October), ADE-000003 (November) and the reissue of
    # ADE-000002 on 11-15, so 3 invoices; the credit note is not an invoice. Disputed: 1.
    # Rate = 1 / 3 = 0.3333.
    assert invoice_dispute_rate(parse_period("2026-Q4")) == D("0.3333")
    # October: ADE-000002 only, and it is disputed: 1 / 1.
    assert invoice_dispute_rate(parse_period("2026-10")) == D("1.0000")
    # September: ADE-000001, not disputed: 0 / 1.
    assert invoice_dispute_rate(parse_period("2026-09")) == D("0.0000")
    assert invoice_dispute_rate(parse_period("2027-01")) is None
    assert reissue_count(parse_period("2026-11")) == 1
    assert reissue_count(parse_period("2026-10")) == 0


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-5, "current"),
        (0, "current"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "over 90"),
    ],
)
def test_bucket_edges(days, bucket):
    assert bucket_of(days) == bucket


def test_ageing_buckets_as_of(receivables: Receivables):
    late_payments(receivables)
    receivables.pay("25.00", dt.date(2026, 11, 26), "no invoice named")

    ageing = receivables_ageing(dt.date(2026, 11, 30))

    # ADE-000002 is due 10-31, 30 days past due on 11-30: 1-30. ADE-000003 is due 12-01:
    # current, with 790.00 open. The 25.00 matched nothing, so it is unapplied.
    [row] = ageing.rows
    assert row.customer == "CUST-1"
    assert row.buckets["current"] == D("790.00")
    assert row.buckets["1-30"] == D("1190.00")
    assert row.buckets["31-60"] == 0
    assert row.total == D("1980.00")
    assert row.unapplied == D("25.00")
    assert row.invoices == 2
    [total] = ageing.totals
    assert total.total == D("1980.00")


def test_ageing_over_90_days(receivables: Receivables):
    ageing = receivables_ageing(dt.date(2027, 1, 15))

    # Nothing paid. ADE-000001 due 10-01: 106 days. ADE-000002 due 10-31: 76 days.
    # ADE-000003 due 12-01: 45 days.
    [row] = ageing.rows
    assert row.buckets["over 90"] == D("1190.00")
    assert row.buckets["61-90"] == D("1190.00")
    assert row.buckets["31-60"] == D("1190.00")


def test_ageing_formats(receivables: Receivables):
    ageing = receivables_ageing(dt.date(2026, 11, 30))

    data = json.loads(ageing_json(ageing))
    assert data["as_of"] == "2026-11-30"
    assert data["customers"][0]["buckets"]["31-60"] == "1190.00"
    assert data["totals"][0]["total"] == "3570.00"
    rows = list(csv.DictReader(io.StringIO(ageing_csv(ageing))))
    assert [row["customer"] for row in rows] == ["CUST-1", ""]
    assert rows[1]["total"] == "3570.00"
    table = ageing_table(ageing)
    assert "CUST-1" in table
    assert "3570.00" in table.splitlines()[-1]


def test_ageing_before_first_invoice_is_empty(receivables: Receivables):
    ageing = receivables_ageing(dt.date(2026, 8, 1))

    assert ageing.rows == []
    assert "nothing is open" in ageing_table(ageing)
