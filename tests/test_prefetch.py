"""The fast loading helpers give the same instances and relations as the ORM's own path."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billguard.prefetch import load_instances, prefetch_children
from billguard.registry.models import BillingSchedule, BillingScheduleLine, ContractVersion
from billguard.registry.terms import LineTerms
from tests.factories import D, make_contract

pytestmark = pytest.mark.django_db


def two_line_contract(number: str, customer: str) -> None:
    make_contract(
        number,
        customer_code=customer,
        lines=[
            LineTerms("L2", "recurring_fixed", "Support", D("50.00"), D("2"), gl_account="4000"),
            LineTerms("L1", "recurring_fixed", "Platform", D("900.5"), D("1"), gl_account="4000"),
        ],
    )


def test_load_instances_match_orm() -> None:
    two_line_contract("C-1", "CUST-1")
    expected = list(ContractVersion.objects.all())

    loaded = load_instances(ContractVersion.objects.all())

    assert loaded == expected
    for mine, theirs in zip(loaded, expected, strict=True):
        assert mine.__dict__.keys() >= {f.attname for f in ContractVersion._meta.concrete_fields}
        assert mine.tax_rate == theirs.tax_rate
        assert mine.effective_from == theirs.effective_from
        assert mine._state.adding is False
        assert mine._state.db == theirs._state.db


def test_prefetch_children_reads_without_queries() -> None:
    two_line_contract("C-1", "CUST-1")
    two_line_contract("C-2", "CUST-2")
    schedules = list(BillingSchedule.objects.order_by("pk"))
    expected = {
        s.pk: [(line.pk, line.line_code, line.unit_price) for line in s.lines.all()]
        for s in BillingSchedule.objects.prefetch_related("lines")
    }

    prefetch_children(schedules, "lines")

    with CaptureQueriesContext(connection) as queries:
        for schedule in schedules:
            lines = [(line.pk, line.line_code, line.unit_price) for line in schedule.lines.all()]
            assert lines == expected[schedule.pk]
            assert schedule.lines.count() == 2
            assert all(line.schedule is schedule for line in schedule.lines.all())
    assert len(queries) == 0


def test_prefetch_children_derived_query_per_parent() -> None:
    two_line_contract("C-1", "CUST-1")
    two_line_contract("C-2", "CUST-2")
    schedules = list(BillingSchedule.objects.order_by("pk"))
    prefetch_children(schedules, "lines")

    first = schedules[0]
    derived = first.lines.filter(line_code="L1")

    assert [line.schedule_id for line in derived] == [first.pk]
    assert first.lines.order_by("pk").count() == 2
    assert BillingScheduleLine.objects.count() == 4


def test_prefetch_children_parent_without_rows() -> None:
    two_line_contract("C-1", "CUST-1")
    schedule = BillingSchedule.objects.get()
    BillingScheduleLine.objects.all().delete()

    prefetch_children([schedule], "lines")

    assert list(schedule.lines.all()) == []
    assert not schedule.lines.exists()
