"""Drafting one contract's invoice for a billing period from its billing schedule and records.

Fixed fees are billed in advance, for each billing period that starts in the run's period.
Usage and time-and-materials lines are billed in arrears, for the billing period that ended
when that one started. A milestone line is billed in the run whose period contains its
billing date. A schedule line
that starts or ends inside a billing period, or a schedule that does, is prorated by actual
days, with the uncovered part shown as a line allowance so quantity and unit price stay the
contract's (EN 16931 BR-LIN-04: line net = quantity x price - allowances).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from billguard.domain.currencies import minor_units
from billguard.domain.invoice import (
    Address,
    AllowanceCharge,
    DocumentType,
    InvoiceDocument,
    InvoiceLine,
    PartyInfo,
    Totals,
)
from billguard.domain.periods import BillingPeriod, Cadence, period_containing
from billguard.domain.proration import prorate
from billguard.domain.rounding import RoundingMode, round_decimal
from billguard.domain.tax import build_document_totals
from billguard.registry.models import (
    BillingSchedule,
    BillingScheduleLine,
    BillToEntity,
    Contract,
    ContractVersion,
    MilestoneAcceptance,
    SellerEntity,
    Timesheet,
    UsageRecord,
)
from billguard.registry.models.contracts import LineKind
from billguard.registry.pricing import version_in_force

ROUNDING = RoundingMode.HALF_UP
RowT = TypeVar("RowT")
DEFAULT_PAYMENT_TERMS_DAYS = 30


@dataclass
class DraftSources:
    """Everything drafting reads for one contract, loaded beforehand in batches."""

    contract: Contract
    seller: SellerEntity
    schedule: BillingSchedule
    versions: list[ContractVersion]
    bill_to: BillToEntity | None
    usage: list[UsageRecord] = field(default_factory=list)
    timesheets: list[Timesheet] = field(default_factory=list)
    acceptances: dict[str, MilestoneAcceptance] = field(default_factory=dict)


@dataclass
class DraftPlan:
    """The drafted invoice of one contract for one run period, before checks."""

    draft_key: str
    document: InvoiceDocument
    line_kinds: dict[str, str]
    contract_version: ContractVersion | None
    bill_to: BillToEntity | None


def draft_key_for(contract_number: str, period: BillingPeriod) -> str:
    return f"{contract_number}:{period.label}"


def draft_contract(sources: DraftSources, period: BillingPeriod) -> DraftPlan | None:
    """Draft the invoice of ``sources.contract`` for the run ``period``; None if nothing is due."""
    schedule = sources.schedule
    cadence = Cadence(schedule.cadence)
    anchor = schedule.starts_on.month
    advance = billing_periods_starting_in(period, cadence, schedule.billing_day, anchor)
    arrears = [_previous(p, cadence, schedule.billing_day, anchor) for p in advance]

    lines: list[InvoiceLine] = []
    kinds: dict[str, str] = {}
    for schedule_line in schedule.lines.all():
        for drafted in _draft_schedule_line(schedule_line, sources, period, advance, arrears):
            drafted.line_id = str(len(lines) + 1)
            kinds[drafted.line_id] = schedule_line.kind
            lines.append(drafted)
    if not lines:
        return None

    starts = [line.service_start for line in lines if line.service_start]
    ends = [line.service_end for line in lines if line.service_end]
    period_start = min(starts) if starts else period.start
    period_end = max(ends) if ends else period.end - dt.timedelta(days=1)
    version = version_in_force(sources.versions, period_start)
    issue_date = period.start
    terms = (version.payment_terms_days if version else None) or DEFAULT_PAYMENT_TERMS_DAYS

    document = InvoiceDocument(
        document_type=DocumentType.INVOICE,
        number="",
        issue_date=issue_date,
        due_date=issue_date + dt.timedelta(days=terms),
        currency=schedule.currency,
        seller=seller_info(sources.seller),
        buyer=buyer_info(sources.bill_to),
        lines=lines,
        tax_subtotals=[],
        totals=_empty_totals(),
        order_reference=schedule.customer_po,
        contract_reference=sources.contract.number,
        period_start=period_start,
        period_end=period_end,
        payment_terms=f"Net {terms} days",
        source=f"billing schedule of contract {sources.contract.number}",
    )
    document.tax_subtotals, document.totals = build_document_totals(document)
    return DraftPlan(
        draft_key=draft_key_for(sources.contract.number, period),
        document=document,
        line_kinds=kinds,
        contract_version=version,
        bill_to=sources.bill_to,
    )


def billing_periods_starting_in(
    period: BillingPeriod, cadence: Cadence, billing_day: int, anchor_month: int = 1
) -> list[BillingPeriod]:
    """List the billing periods of a schedule whose first day falls inside the run ``period``.

    Quarterly and yearly periods count from ``anchor_month``, the month the schedule starts.
    """
    found = []
    current = period_containing(period.start, cadence, billing_day, anchor_month=anchor_month)
    if current.start < period.start:
        current = period_containing(current.end, cadence, billing_day, anchor_month=anchor_month)
    while current.start < period.end:
        found.append(current)
        current = period_containing(current.end, cadence, billing_day, anchor_month=anchor_month)
    return found


def seller_info(seller: SellerEntity) -> PartyInfo:
    return PartyInfo(
        name=seller.name,
        tax_id=seller.vat_id,
        registration_id=seller.registration_id,
        address=Address(
            street=seller.street, city=seller.city, postcode=seller.postcode, country=seller.country
        ),
        contact_email=seller.email,
    )


def buyer_info(bill_to: BillToEntity | None) -> PartyInfo:
    if bill_to is None:
        return PartyInfo()
    return PartyInfo(
        name=bill_to.name,
        tax_id=bill_to.tax_id,
        identifier=bill_to.code,
        address=Address(
            street=bill_to.street,
            city=bill_to.city,
            postcode=bill_to.postcode,
            subdivision=bill_to.subdivision,
            country=bill_to.country,
        ),
        contact_email=bill_to.contact_email,
    )


def _draft_schedule_line(
    line: BillingScheduleLine,
    sources: DraftSources,
    run_period: BillingPeriod,
    advance: list[BillingPeriod],
    arrears: list[BillingPeriod],
) -> list[InvoiceLine]:
    if line.kind == LineKind.RECURRING_FIXED:
        return [
            drafted
            for billing_period in advance
            if (drafted := _fixed_line(line, sources.schedule, billing_period)) is not None
        ]
    if line.kind in (LineKind.USAGE, LineKind.TIME_AND_MATERIALS):
        return [
            drafted
            for billing_period in arrears
            if (drafted := _arrears_line(line, sources, billing_period)) is not None
        ]
    billed_now = line.bill_on is not None and run_period.contains(line.bill_on)
    if line.kind == LineKind.MILESTONE and billed_now:
        assert line.bill_on is not None
        quantity = line.quantity if line.quantity is not None else Decimal(1)
        return [_make_line(line, quantity, line.bill_on, line.bill_on, sources.schedule.currency)]
    return []


def _fixed_line(
    line: BillingScheduleLine, schedule: BillingSchedule, billing_period: BillingPeriod
) -> InvoiceLine | None:
    start = max(billing_period.start, line.effective_from, schedule.starts_on)
    end = billing_period.end  # exclusive
    if line.effective_to is not None:
        end = min(end, line.effective_to)
    if schedule.ends_on is not None:
        end = min(end, schedule.ends_on + dt.timedelta(days=1))
    if start >= end:
        return None
    covered = (end - start).days
    quantity = line.quantity if line.quantity is not None else Decimal(1)
    return _make_line(
        line,
        quantity,
        start,
        end - dt.timedelta(days=1),
        schedule.currency,
        covered_days=covered,
        period_days=billing_period.days,
    )


def _arrears_line(
    line: BillingScheduleLine, sources: DraftSources, billing_period: BillingPeriod
) -> InvoiceLine | None:
    start = max(billing_period.start, line.effective_from)
    end = (
        billing_period.end
        if line.effective_to is None
        else min(billing_period.end, line.effective_to)
    )
    if start >= end:
        return None
    quantity = Decimal(0)
    if line.kind == LineKind.USAGE:
        for record in sources.usage:
            if record.line_code == line.line_code and start <= record.service_date < end:
                quantity += record.quantity
    else:
        for sheet in sources.timesheets:
            if sheet.line_code == line.line_code and start <= sheet.work_date < end:
                quantity += sheet.hours
    if quantity == 0:
        return None
    return _make_line(line, quantity, start, end - dt.timedelta(days=1), sources.schedule.currency)


def _make_line(
    line: BillingScheduleLine,
    quantity: Decimal,
    service_start: dt.date,
    service_end: dt.date,
    currency: str,
    *,
    covered_days: int | None = None,
    period_days: int | None = None,
) -> InvoiceLine:
    decimals = minor_units(currency)
    gross = quantity * line.unit_price
    discount_percent = line.discount_percent or Decimal(0)
    discounted = gross * (Decimal(100) - discount_percent) / Decimal(100)
    if covered_days is not None and period_days and covered_days < period_days:
        net = round_decimal(prorate(discounted, covered_days, period_days), decimals, ROUNDING)
    else:
        net = round_decimal(discounted, decimals, ROUNDING)

    allowances = []
    gross_rounded = round_decimal(gross, decimals, ROUNDING)
    discounted_rounded = round_decimal(discounted, decimals, ROUNDING)
    # Each allowance is the difference of two rounded amounts, so the line always adds up.
    discount_amount = gross_rounded - discounted_rounded
    if discount_percent:
        allowances.append(
            AllowanceCharge(
                is_charge=False,
                amount=discount_amount,
                base_amount=gross_rounded,
                percent=discount_percent,
                reason=f"Discount {discount_percent.normalize():f}%",
                reason_code="95",
            )
        )
    proration = discounted_rounded - net
    if proration:
        allowances.append(
            AllowanceCharge(
                is_charge=False,
                amount=proration,
                reason=f"Proration: {covered_days} of {period_days} days",
                reason_code="95",
            )
        )
    return InvoiceLine(
        line_id="",
        description=line.description,
        quantity=quantity,
        unit_code=line.unit_code,
        unit_price=line.unit_price,
        net_amount=net,
        tax_category=line.tax_category or "S",
        tax_rate=line.tax_rate,
        exemption_reason=line.exemption_reason,
        item_id=line.line_code,
        gl_account=line.gl_account,
        service_start=service_start,
        service_end=service_end,
        allowances_charges=allowances,
        discount_percent=line.discount_percent,
    )


def _previous(
    period: BillingPeriod, cadence: Cadence, billing_day: int, anchor_month: int
) -> BillingPeriod:
    return period_containing(
        period.start - dt.timedelta(days=1), cadence, billing_day, anchor_month=anchor_month
    )


def _empty_totals() -> Totals:
    zero = Decimal(0)
    return Totals(zero, zero, zero, zero, zero, zero, zero, zero, zero)


def group_by_contract(
    rows: Sequence[RowT], attribute: str = "contract_id"
) -> dict[int, list[RowT]]:
    grouped: dict[int, list[RowT]] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, attribute)].append(row)
    return grouped
