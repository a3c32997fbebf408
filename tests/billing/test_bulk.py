"""Inserting many model instances with COPY stores what bulk_create stores."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from billguard.billing.bulk import instances_insert
from billguard.billing.models import Invoice
from billguard.controls.models import AuditEntry
from tests.factories import make_customer, make_seller

pytestmark = pytest.mark.django_db

# The fields that differ between two inserts of the same values.
KEYS = {"id", "draft_key", "sequence", "created_at"}


def invoices(seller_id: int, bill_to_id: int, key: str) -> list[Invoice]:
    return [
        Invoice(
            document_type=Invoice.DocumentType.INVOICE,
            status=status,
            seller_entity_id=seller_id,
            bill_to_id=bill_to_id,
            currency="EUR",
            period_start=dt.date(2026, 11, 1),
            period_end=dt.date(2026, 11, 30),
            issue_date=dt.date(2026, 11, 1),
            due_date=dt.date(2026, 12, 1),
            customer_po='PO "7" \\ {a,b}',
            line_extension=Decimal("1000.00"),
            tax_total=Decimal("190.00"),
            payable=Decimal("1190.00"),
            draft_key=f"{key}-{number}",
            parties={"seller": {"name": 'Acme, "DE"', "lines": ["a", None]}, "buyer": {}},
            held_since=None,
        )
        for number, status in enumerate([Invoice.Status.DRAFT, Invoice.Status.HELD, "issued"])
    ]


def stored(model: type[Any], ids: list[int]) -> list[dict[str, Any]]:
    rows = model.objects.filter(pk__in=ids).order_by("pk").values()
    return [{name: value for name, value in row.items() if name not in KEYS} for row in rows]


def test_copied_invoices_equal_bulk_created_ones() -> None:
    seller = make_seller()
    _, bill_to = make_customer()
    with transaction.atomic():
        created = Invoice.objects.bulk_create(invoices(seller.pk, bill_to.pk, "bulk"))
        copied = instances_insert(Invoice, invoices(seller.pk, bill_to.pk, "copy"))

    assert all(invoice.pk is not None and not invoice._state.adding for invoice in copied)
    assert len({invoice.pk for invoice in [*created, *copied]}) == 6
    assert stored(Invoice, [i.pk for i in copied]) == stored(Invoice, [i.pk for i in created])
    assert all(invoice.created_at is not None for invoice in copied)
    # The table's own numbering goes on after the ids that the insert took.
    later = Invoice.objects.create(**{**_fields(copied[0]), "draft_key": "later"})
    assert later.pk > max(invoice.pk for invoice in copied)


def test_copied_audit_entries_keep_json() -> None:
    def entries(first: int) -> list[AuditEntry]:
        return [
            AuditEntry(
                sequence=first + offset,
                recorded_at=dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.UTC),
                actor="ops@example.com",
                action="invoice.issue",
                record_type="invoice",
                record_id=str(offset),
                billing_run_id=None,
                before=None if offset == 0 else {"status": "draft"},
                after={"number": f"INV-{offset}", "amounts": ["1.00", "\t"]},
                reason="line one\nline two",
                previous_hmac="",
                hmac="ab" * 32,
            )
            for offset in range(3)
        ]

    with transaction.atomic():
        created = AuditEntry.objects.bulk_create(entries(900_000))
        copied = instances_insert(AuditEntry, entries(900_100))

    assert stored(AuditEntry, [e.pk for e in copied]) == stored(AuditEntry, [e.pk for e in created])
    nulls = AuditEntry.objects.filter(pk__in=[e.pk for e in copied], before__isnull=True)
    assert nulls.count() == 1


def test_empty_insert_writes_nothing() -> None:
    before = Invoice.objects.count()
    assert instances_insert(Invoice, []) == []
    assert Invoice.objects.count() == before


def test_kept_primary_keys_are_not_replaced() -> None:
    seller = make_seller()
    _, bill_to = make_customer()
    first, *rest = invoices(seller.pk, bill_to.pk, "kept")
    first.pk = 987_654
    with transaction.atomic():
        instances_insert(Invoice, [first, *rest])
    assert Invoice.objects.filter(pk=987_654, draft_key="kept-0").exists()
    assert all(invoice.pk != 987_654 for invoice in rest)


def _fields(invoice: Invoice) -> dict[str, Any]:
    return {
        field.attname: getattr(invoice, field.attname)
        for field in Invoice._meta.concrete_fields
        if field.attname not in KEYS
    }
