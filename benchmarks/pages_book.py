"""A year of billing on top of the benchmark book, for timing the web pages.

Every contract of the book gets one invoice of ten lines in one of the twelve months from
2025-12 to 2026-11 (contract ``j`` in month ``j % 12``), so 100k contracts give 100k invoices
and 1M invoice lines. One invoice in fifty is a held draft with one or two blocking findings;
the others are issued with gapless numbers. Most issued invoices older than 45 days are paid
in full, one in four hundred is disputed, and each month has its completed billing run. As
in the book, every value follows from the row's index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from benchmarks.book import (
    SELLER_ID,
    TAX_RATE,
    BookSize,
    contract_lines,
    contract_number,
    customer_of,
)
from benchmarks.tables import Table

MONTHS = tuple((2025, 12) if i == 0 else (2026, i) for i in range(12))
HELD_EVERY = 50
DISPUTED_EVERY = 400
UNPAID_EVERY = 7
AS_OF = dt.date(2026, 12, 5)
FINDING_CODES = (
    "PRICE_MISMATCH",
    "SOW_MISSING",
    "BILL_TO_MISMATCH",
    "TAX_ID_INVALID",
    "QUANTITY_MISMATCH",
    "DISCOUNT_NOT_APPROVED",
    "PO_CEILING_EXCEEDED",
    "ESCALATION_NOT_APPLIED",
    "GL_ACCOUNT_MISSING",
    "DUPLICATE_INVOICE_SUSPECTED",
    "SOW_SUPERSEDED",
    "TAX_RATE_MISMATCH",
)
CENT = Decimal("0.01")
STAMP = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


def month_of(j: int) -> tuple[int, int]:
    return MONTHS[j % 12]


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    """First and last day of the month."""
    first = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def is_held(j: int) -> bool:
    return j % HELD_EVERY == 0


def is_paid(j: int) -> bool:
    _first, last = month_bounds(*month_of(j))
    return not is_held(j) and j % UNPAID_EVERY != 0 and (AS_OF - last).days > 45


def is_disputed(j: int) -> bool:
    return not is_held(j) and j % DISPUTED_EVERY == 3


def _amounts(j: int, size: BookSize) -> tuple[list[tuple[Decimal, Decimal]], Decimal, Decimal]:
    """(quantity, net) per line, the net total and the tax total of contract ``j``'s invoice."""
    lines = []
    for line in contract_lines(j, size):
        quantity = line.quantity if line.quantity is not None else Decimal(350)
        lines.append((quantity, (quantity * line.unit_price).quantize(CENT)))
    net = sum((n for _, n in lines), Decimal(0))
    tax = (net * TAX_RATE / 100).quantize(CENT)
    return lines, net, tax


def _numbers(size: BookSize) -> dict[int, int]:
    """The number of each issued invoice: gapless, in the order of the months then contracts."""
    order = sorted(
        (j for j in range(1, size.contracts + 1) if not is_held(j)),
        key=lambda j: (month_of(j), j),
    )
    return {j: n for n, j in enumerate(order, start=1)}


def run_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    for index, (year, month) in enumerate(MONTHS, start=1):
        first, last = month_bounds(year, month)
        started = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(6), tzinfo=dt.UTC)
        yield (
            index,
            f"{year}-{month:02d}",
            first,
            last + dt.timedelta(days=1),
            "",
            False,
            "process",
            "completed",
            started,
            "fran.finance",
            started + dt.timedelta(minutes=12),
            1,
            "{}",
        )


def invoice_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    numbers = _numbers(size)
    for j in range(1, size.contracts + 1):
        year, month = month_of(j)
        first, last = month_bounds(year, month)
        _lines, net, tax = _amounts(j, size)
        held = is_held(j)
        issue = last + dt.timedelta(days=1)
        number = None if held else f"BDE-{numbers[j]:07d}"
        yield (
            j,
            "invoice",
            "held" if held else "issued",
            number,
            SELLER_ID,
            j,
            j,
            customer_of(j),
            "EUR",
            first,
            last,
            None if held else issue,
            None if held else issue + dt.timedelta(days=30),
            f"PO-{j:07d}",
            net,
            tax,
            net + tax,
            MONTHS.index((year, month)) + 1,
            f"{contract_number(j)}:{year}-{month:02d}",
            "{}",
            STAMP,
            None if held else dt.datetime.combine(issue, dt.time(7), tzinfo=dt.UTC),
        )


def invoice_line_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    for j in range(1, size.contracts + 1):
        first, last = month_bounds(*month_of(j))
        amounts, _net, _tax = _amounts(j, size)
        for position, (line, (quantity, net)) in enumerate(
            zip(contract_lines(j, size), amounts, strict=True), start=1
        ):
            yield (
                (j - 1) * size.lines_per_contract + position,
                j,
                position,
                line.code,
                line.kind,
                line.description,
                quantity,
                line.unit_code,
                line.unit_price,
                net,
                line.gl_account,
                "S",
                TAX_RATE,
                first,
                last,
            )


def tax_subtotal_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    for j in range(1, size.contracts + 1):
        _lines, net, tax = _amounts(j, size)
        yield (j, j, "S", TAX_RATE, net, tax, "")


def finding_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    pk = 0
    for j in range(HELD_EVERY, size.contracts + 1, HELD_EVERY):
        _lines, net, _tax = _amounts(j, size)
        codes = [FINDING_CODES[(j // HELD_EVERY) % len(FINDING_CODES)]]
        if j % (HELD_EVERY * 3) == 0:
            codes.append(FINDING_CODES[(j // HELD_EVERY + 5) % len(FINDING_CODES)])
        for code in codes:
            pk += 1
            yield (
                pk,
                j,
                MONTHS.index(month_of(j)) + 1,
                code,
                "block",
                f"{contract_number(j)} line L01",
                f"{code.replace('_', ' ').lower()} on {contract_number(j)}",
                "1000.00",
                "1050.00",
                (net / 20).quantize(CENT),
                "EUR",
                "{}",
                False,
                STAMP,
            )


def payment_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    for j in range(1, size.contracts + 1):
        if not is_paid(j):
            continue
        _lines, net, tax = _amounts(j, size)
        _first, last = month_bounds(*month_of(j))
        yield (
            j,
            customer_of(j),
            last + dt.timedelta(days=20 + j % 25),
            "EUR",
            net + tax,
            "bank_transfer",
            f"Invoice {contract_number(j)}",
            "bench",
            f"P-{j}",
            "fran.finance",
            STAMP,
        )


def allocation_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    for j in range(1, size.contracts + 1):
        if not is_paid(j):
            continue
        _lines, net, tax = _amounts(j, size)
        yield (j, j, j, net + tax, "reference", "fran.finance", STAMP)


def dispute_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    pk = 0
    for j in range(3, size.contracts + 1, DISPUTED_EVERY):
        if not is_disputed(j):
            continue
        pk += 1
        _first, last = month_bounds(*month_of(j))
        _lines, net, _tax = _amounts(j, size)
        rejected = pk % 3 == 0
        yield (
            pk,
            j,
            last + dt.timedelta(days=10),
            "wrong_price",
            "The customer says line L01 is above the signed price.",
            (net / 20).quantize(CENT),
            "PRICE_MISMATCH",
            "rejected" if rejected else "open",
            "",
            "The signed SOW shows the billed price." if rejected else "",
            "alex.approver" if rejected else "",
            STAMP if rejected else None,
            "fran.finance",
            STAMP,
        )


def page_tables(size: BookSize) -> list[Table]:
    """The tables of the year of billing, in insertion order, after the book's."""
    return [
        Table(
            "billing.BillingRun",
            (
                "id",
                "period_label",
                "period_start",
                "period_end",
                "contract_filter",
                "dry_run",
                "mode",
                "status",
                "started_at",
                "started_by",
                "finished_at",
                "chunks_done",
                "counts",
            ),
            run_rows(size),
        ),
        Table(
            "billing.Invoice",
            (
                "id",
                "document_type",
                "status",
                "number",
                "seller_entity",
                "contract",
                "contract_version",
                "bill_to",
                "currency",
                "period_start",
                "period_end",
                "issue_date",
                "due_date",
                "customer_po",
                "line_extension",
                "tax_total",
                "payable",
                "billing_run",
                "draft_key",
                "parties",
                "created_at",
                "issued_at",
            ),
            invoice_rows(size),
        ),
        Table(
            "billing.InvoiceLine",
            (
                "id",
                "invoice",
                "position",
                "line_code",
                "kind",
                "description",
                "quantity",
                "unit_code",
                "unit_price",
                "net_amount",
                "gl_account",
                "tax_category",
                "tax_rate",
                "service_start",
                "service_end",
            ),
            invoice_line_rows(size),
        ),
        Table(
            "billing.InvoiceTaxSubtotal",
            (
                "id",
                "invoice",
                "category",
                "rate",
                "taxable_amount",
                "tax_amount",
                "exemption_reason",
            ),
            tax_subtotal_rows(size),
        ),
        Table(
            "checks.StoredFinding",
            (
                "id",
                "invoice",
                "billing_run",
                "code",
                "severity",
                "subject",
                "message",
                "expected",
                "actual",
                "amount_at_stake",
                "currency",
                "evidence",
                "observed",
                "created_at",
            ),
            finding_rows(size),
        ),
        Table(
            "receivables.Payment",
            (
                "id",
                "customer",
                "received_on",
                "currency",
                "amount",
                "method",
                "reference",
                "source",
                "external_id",
                "created_by",
                "created_at",
            ),
            payment_rows(size),
        ),
        Table(
            "receivables.PaymentAllocation",
            ("id", "payment", "invoice", "amount", "rule", "created_by", "created_at"),
            allocation_rows(size),
        ),
        Table(
            "receivables.Dispute",
            (
                "id",
                "invoice",
                "opened_on",
                "reason",
                "note",
                "amount",
                "check_code",
                "status",
                "resolution",
                "decision_note",
                "decided_by",
                "decided_at",
                "opened_by",
                "created_at",
            ),
            dispute_rows(size),
        ),
    ]


def issued_count(size: BookSize) -> int:
    return sum(1 for j in range(1, size.contracts + 1) if not is_held(j))
