"""Billing schedules: created from a contract version, then kept (or imported) by finance."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q

from billguard.controls.roles import authorize
from billguard.controls.services import audit_record
from billguard.domain.errors import RuleViolation
from billguard.registry.models import (
    Amendment,
    BillingSchedule,
    BillingScheduleLine,
    Contract,
    ContractVersion,
    PriceListItem,
)
from billguard.registry.pricing import approved_discount, price_change_factor, price_on

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def schedule_create_from_version(
    *,
    contract: Contract,
    version: ContractVersion,
    starts_on: dt.date,
    source: str = BillingSchedule.Source.REGISTRY,
    milestone_dates: dict[str, dt.date] | None = None,
    follow_price_changes: bool = True,
    by: User | None = None,
) -> BillingSchedule:
    """Create the billing schedule of ``contract`` with the lines and prices of ``version``."""
    if by is not None:
        authorize(by, "schedule_create")
    if BillingSchedule.objects.filter(contract=contract).exists():
        raise RuleViolation(f"contract {contract.number} already has a billing schedule.")
    schedule = BillingSchedule.objects.create(
        contract=contract,
        bill_to_id=version.bill_to_id,
        currency=version.currency,
        cadence=version.cadence or "monthly",
        billing_day=version.billing_day or 1,
        customer_po=version.customer_po,
        source=source,
        starts_on=starts_on,
        ends_on=last_billed_day(version),
    )
    BillingScheduleLine.objects.bulk_create(
        schedule_lines_for(
            schedule,
            version,
            starts_on,
            milestone_dates or {},
            follow_price_changes=follow_price_changes,
        )
    )
    return schedule


@transaction.atomic
def schedule_apply_amendment(
    *, amendment: Amendment, actor: str = "system", by: User | None = None
) -> BillingSchedule:
    """Apply an approved amendment's version to the schedule from its effective date.

    Lines in force end the day the amendment takes effect; the new version's lines start then.
    The audit entry names ``by`` when given, else ``actor``.
    """
    if by is not None:
        authorize(by, "schedule_create")
        actor = by.get_username()
    # NOTE: the schedule has one bill-to, customer PO and currency, so applying an amendment
    # that takes effect later switches them at once. Apply such an amendment when it starts.
    amendment = Amendment.objects.get(pk=amendment.pk)
    if amendment.status != Amendment.Status.APPROVED:
        raise RuleViolation(f"amendment {amendment} is not approved yet.")
    version = ContractVersion.objects.get(amendment=amendment)
    schedule = BillingSchedule.objects.select_for_update().get(contract_id=amendment.contract_id)
    before = _schedule_state(schedule)
    start = amendment.effective_from
    schedule.lines.filter(effective_from__gte=start).delete()
    schedule.lines.filter(Q(effective_to__isnull=True) | Q(effective_to__gt=start)).update(
        effective_to=start
    )
    milestones = {
        line.line_code: line.bill_on
        for line in schedule.lines.all()
        if line.bill_on is not None and line.bill_on >= start
    }
    BillingScheduleLine.objects.bulk_create(
        schedule_lines_for(schedule, version, start, milestones)
    )
    schedule.bill_to_id = version.bill_to_id
    schedule.customer_po = version.customer_po
    schedule.currency = version.currency
    schedule.ends_on = last_billed_day(version)
    schedule.save(update_fields=["bill_to", "customer_po", "currency", "ends_on", "updated_at"])
    audit_record(
        actor=actor,
        action="schedule.apply_amendment",
        record=schedule,
        before=before,
        after={**_schedule_state(schedule), "amendment": amendment.number, "from": start},
    )
    return schedule


def _schedule_state(schedule: BillingSchedule) -> dict[str, object]:
    return {
        "bill_to": schedule.bill_to_id,
        "customer_po": schedule.customer_po,
        "currency": schedule.currency,
        "ends_on": schedule.ends_on,
        "lines": schedule.lines.count(),
    }


def last_billed_day(version: ContractVersion) -> dt.date | None:
    """Return the version's end date, or None when it renews automatically so billing goes on."""
    if version.renewal_terms == ContractVersion.RenewalTerms.AUTO_RENEW:
        return None
    return version.end_date


def schedule_lines_for(
    schedule: BillingSchedule,
    version: ContractVersion,
    starts_on: dt.date,
    milestone_dates: dict[str, dt.date],
    *,
    follow_price_changes: bool = True,
) -> list[BillingScheduleLine]:
    """Schedule lines for the terms of ``version`` from ``starts_on``.

    A line gets one schedule line per price step. A new step starts on each later scheduled
    price change whose new price is known (a fixed uplift, or an index change whose value is
    recorded). For a line priced from the price list, a step also starts on each later price
    list entry. So the schedule follows the contract's escalations without a manual edit.
    Without ``follow_price_changes`` each line keeps its price at ``starts_on``, like a
    schedule kept in a billing system that does not track the escalations.
    """
    items = list(PriceListItem.objects.filter(price_list_id=version.price_list_id))
    lines = []
    for line in version.lines.all():
        steps: list[dt.date] = []
        if follow_price_changes:
            days = {
                change.effective_on
                for change in version.price_changes.all()
                if change.line_code == line.line_code and price_change_factor(change) is not None
            }
            if line.unit_price is None:
                days |= {i.valid_from for i in items if i.product_code == line.product_code}
            steps = sorted(day for day in days if day > starts_on)
        # Keep only the days on which the price really changes.
        boundaries = [starts_on]
        prices = [price_on(version, line, starts_on, items).unit_price]
        for day in steps:
            price = price_on(version, line, day, items).unit_price
            if price != prices[-1]:
                boundaries.append(day)
                prices.append(price)
        for index, segment_start in enumerate(boundaries):
            segment_end = boundaries[index + 1] if index + 1 < len(boundaries) else None
            quote = price_on(version, line, segment_start, items)
            discount = approved_discount(version, line.line_code, segment_start)
            lines.append(
                BillingScheduleLine(
                    schedule=schedule,
                    line_code=line.line_code,
                    kind=line.kind,
                    description=line.description,
                    unit_code=line.unit_code,
                    quantity=line.quantity,
                    unit_price=quote.unit_price if quote.unit_price is not None else 0,
                    discount_percent=discount.percent if discount else None,
                    gl_account=line.gl_account,
                    tax_category=line.tax_category or version.tax_category,
                    tax_rate=line.tax_rate if line.tax_category else version.tax_rate,
                    exemption_reason=version.exemption_reason,
                    effective_from=segment_start,
                    effective_to=segment_end,
                    bill_on=milestone_dates.get(line.line_code) if index == 0 else None,
                )
            )
    return lines
