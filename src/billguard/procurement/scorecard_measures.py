"""The measures behind the supplier scorecard components, for many vendors and one month.

Each function returns a Measure by vendor id. A vendor missing from the result has no data
for that component in the month, and the score leaves the component out. Every measure is
computed with a few grouped queries, whatever the number of vendors.

docs/scorecards.md gives the definitions for users; the rules are repeated where they are
computed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.domain.periods import BillingPeriod
from billguard.procurement.models import (
    CostLink,
    OnboardingItem,
    PurchaseOrder,
    Receipt,
    VendorCertification,
    VendorInvoice,
    VendorInvoiceLine,
)
from billguard.registry.models import Party

MATCH_FINDING_PREFIX = "MATCH_"
DUPLICATE_INVOICE_CODE = "VENDOR_INVOICE_DUPLICATE_SUSPECTED"
DUPLICATE_ORDER_CODE = "PO_DUPLICATE_SUSPECTED"
# Measures keep 4 decimals: a ratio to 0.01 percent, a percentage to 0.0001 percent.
MEASURE_PLACES = Decimal("0.0001")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Measure:
    """One component's measure for one vendor and month, before it becomes points.

    ``value`` is a ratio from 0 to 1, a mean percentage or a count, as the component defines.
    ``observations`` is the number of records it rests on, and ``detail`` describes it in
    words.
    """

    value: Decimal
    observations: int
    detail: str


def on_time_receipts(period: BillingPeriod, vendor_ids: Collection[int]) -> dict[int, Measure]:
    """Share of the month's receipts that came on or before their order line's expected date.

    Only receipts whose order line has an expected date count. Each receipt of a line
    delivered in parts counts once.
    """
    rows = (
        Receipt.objects.filter(
            received_on__gte=period.start,
            received_on__lt=period.end,
            line__expected_on__isnull=False,
            line__purchase_order__vendor_id__in=vendor_ids,
        )
        .values("line__purchase_order__vendor_id")
        .annotate(
            total=Count("pk"),
            on_time=Count("pk", filter=Q(received_on__lte=F("line__expected_on"))),
        )
    )
    return {
        row["line__purchase_order__vendor_id"]: Measure(
            value=_ratio(row["on_time"], row["total"]),
            observations=row["total"],
            detail=f"{row['on_time']} of {row['total']} receipts on time",
        )
        for row in rows
    }


def price_variance(period: BillingPeriod, vendor_ids: Collection[int]) -> dict[int, Measure]:
    """Mean absolute difference, in percent, of invoiced unit prices from the ordered ones.

    The lines are those of vendor invoices issued in the month that name an order line, in
    every invoice status. Each line counts once, whatever its amount. A line is compared with
    its order line's current unit price. An order price of 0 billed above 0 counts as 100
    percent. A line in another currency than its order is left out, because comparing the
    prices needs an exchange rate.
    """
    rows = VendorInvoiceLine.objects.filter(
        invoice__issue_date__gte=period.start,
        invoice__issue_date__lt=period.end,
        invoice__vendor_id__in=vendor_ids,
        po_line__isnull=False,
    ).values_list(
        "invoice__vendor_id",
        "unit_price",
        "po_line__unit_price",
        "invoice__currency",
        "po_line__purchase_order__currency",
    )
    variances: dict[int, list[Decimal]] = defaultdict(list)
    other_currency: dict[int, int] = defaultdict(int)
    for vendor_id, billed, ordered, billed_currency, ordered_currency in rows.iterator():
        if billed_currency != ordered_currency:
            other_currency[vendor_id] += 1
            continue
        variances[vendor_id].append(_percent_difference(billed, ordered))

    measures = {}
    for vendor_id, values in variances.items():
        mean = (sum(values, Decimal(0)) / len(values)).quantize(MEASURE_PLACES, ROUND_HALF_UP)
        skipped = other_currency.get(vendor_id, 0)
        note = f"; {skipped} in another currency left out" if skipped else ""
        measures[vendor_id] = Measure(
            value=mean,
            observations=len(values),
            detail=f"mean {mean.normalize():f} % over {len(values)} invoice lines{note}",
        )
    return measures


def match_exceptions(period: BillingPeriod, vendor_ids: Collection[int]) -> dict[int, Measure]:
    """Share of the month's vendor invoices with at least one finding whose code is MATCH_*."""
    rows = (
        VendorInvoice.objects.filter(
            vendor_id__in=vendor_ids, issue_date__gte=period.start, issue_date__lt=period.end
        )
        .values("vendor_id")
        .annotate(
            total=Count("pk", distinct=True),
            flagged=Count(
                "pk",
                distinct=True,
                filter=Q(findings__code__startswith=MATCH_FINDING_PREFIX),
            ),
        )
    )
    return {
        row["vendor_id"]: Measure(
            value=_ratio(row["flagged"], row["total"]),
            observations=row["total"],
            detail=f"{row['flagged']} of {row['total']} invoices with a match finding",
        )
        for row in rows
    }


def duplicate_attempts(period: BillingPeriod, vendor_ids: Collection[int]) -> dict[int, Measure]:
    """Count of the month's vendor invoices and purchase orders flagged as likely duplicates.

    A vendor invoice counts by its issue date and a purchase order by its order date, so that
    computing a past month again gives the same count. Each document counts once, however
    many duplicate findings it has. A vendor with no invoice and no order in the month has
    no data.
    """
    invoices = _flagged_counts(
        VendorInvoice.objects.filter(issue_date__gte=period.start, issue_date__lt=period.end),
        vendor_ids,
        DUPLICATE_INVOICE_CODE,
    )
    orders = _flagged_counts(
        PurchaseOrder.objects.filter(ordered_on__gte=period.start, ordered_on__lt=period.end),
        vendor_ids,
        DUPLICATE_ORDER_CODE,
    )
    measures = {}
    for vendor_id in invoices.keys() | orders.keys():
        invoice_total, invoice_flagged = invoices.get(vendor_id, (0, 0))
        order_total, order_flagged = orders.get(vendor_id, (0, 0))
        flagged = invoice_flagged + order_flagged
        measures[vendor_id] = Measure(
            value=Decimal(flagged),
            observations=invoice_total + order_total,
            detail=(
                f"{invoice_flagged} of {invoice_total} invoices and {order_flagged} of "
                f"{order_total} orders flagged as duplicates"
            ),
        )
    return measures


def change_requests(period: BillingPeriod, vendor_ids: Collection[int]) -> dict[int, Measure]:
    """Change requests made in the month per contract linked to the vendor.

    A request counts when it targets the vendor itself (its bank details) or a customer
    contract linked to the vendor by a cost link, whatever became of it. The divisor is the
    number of linked contracts. Without one, it is the vendor's purchase orders of the month.
    With neither, it is 1 when the vendor has a request, and otherwise the vendor has no data.
    Requests count by their time in the server's time zone (TIME_ZONE).
    """
    contracts_of: dict[int, set[int]] = defaultdict(set)
    vendors_of_contract: dict[str, set[int]] = defaultdict(set)
    for vendor_id, contract_id in CostLink.objects.filter(vendor_id__in=vendor_ids).values_list(
        "vendor_id", "contract_id"
    ):
        contracts_of[vendor_id].add(contract_id)
        vendors_of_contract[str(contract_id)].add(vendor_id)

    zone = timezone.get_default_timezone()
    start_at = dt.datetime.combine(period.start, dt.time.min, tzinfo=zone)
    end_at = dt.datetime.combine(period.end, dt.time.min, tzinfo=zone)
    requests = ChangeRequest.objects.filter(
        requested_at__gte=start_at, requested_at__lt=end_at
    ).filter(
        Q(target=Target.VENDOR, target_id__in=[str(pk) for pk in vendor_ids])
        | Q(target=Target.CONTRACT, target_id__in=list(vendors_of_contract))
    )
    counts: dict[int, int] = defaultdict(int)
    for target, target_id in requests.values_list("target", "target_id"):
        if target == Target.VENDOR:
            counts[int(target_id)] += 1
        else:
            for vendor_id in vendors_of_contract[target_id]:
                counts[vendor_id] += 1

    orders = dict(
        PurchaseOrder.objects.filter(
            vendor_id__in=vendor_ids, ordered_on__gte=period.start, ordered_on__lt=period.end
        )
        .values("vendor_id")
        .annotate(total=Count("pk"))
        .values_list("vendor_id", "total")
    )
    measures = {}
    for vendor_id in contracts_of.keys() | orders.keys() | counts.keys():
        count = counts.get(vendor_id, 0)
        if contracts_of.get(vendor_id):
            divisor, basis = len(contracts_of[vendor_id]), "linked contracts"
        elif orders.get(vendor_id):
            divisor, basis = orders[vendor_id], "purchase orders of the period"
        else:
            divisor, basis = 1, "the vendor itself, which has no linked contract or order"
        measures[vendor_id] = Measure(
            value=_ratio(count, divisor),
            observations=divisor,
            detail=f"{count} change requests over {divisor} {basis}",
        )
    return measures


def document_compliance(period: BillingPeriod, vendor_ids: Collection[int]) -> dict[int, Measure]:
    """Share of the vendor's expected documents that are in order on the month's last day.

    Expected are every checklist item that the policy requires (whether recorded or still
    missing) and the vendor's latest certification of each kind and name issued by then. A
    vendor with no checklist item recorded at all has no data for the checklist part. An
    item is in order when the checklist finds it done on the last day (not expired). A
    certification is in order when its expiry date, if any, is on or after the last day.
    """
    # NOTE: the checklist keeps no history of its status, so a past month is judged on the
    # items' current status, with the expiry dates as of that month's last day.
    from billguard.procurement.onboarding import onboarding_checklist

    last_day = period.last_day
    expected: dict[int, int] = defaultdict(int)
    valid: dict[int, int] = defaultdict(int)
    recorded = set(
        OnboardingItem.objects.filter(vendor_id__in=vendor_ids).values_list("vendor_id", flat=True)
    )
    for vendor in Party.objects.filter(pk__in=recorded):
        for item in onboarding_checklist(vendor, last_day):
            if item.required:
                expected[vendor.pk] += 1
                valid[vendor.pk] += int(item.state == "done")

    latest: dict[tuple[int, str, str], dt.date | None] = {}
    certifications = VendorCertification.objects.filter(vendor_id__in=vendor_ids).filter(
        Q(issued_on__isnull=True) | Q(issued_on__lte=last_day)
    )
    for vendor_id, kind, name, expires_on in certifications.values_list(
        "vendor_id", "kind", "name", "expires_on"
    ):
        key = (vendor_id, kind.strip().lower(), name.strip().lower())
        if key not in latest or _expires_later(expires_on, latest[key]):
            latest[key] = expires_on
    for (vendor_id, _, _), expires_on in latest.items():
        expected[vendor_id] += 1
        valid[vendor_id] += int(expires_on is None or expires_on >= last_day)

    return {
        vendor_id: Measure(
            value=_ratio(valid[vendor_id], total),
            observations=total,
            detail=f"{valid[vendor_id]} of {total} documents in order on {last_day.isoformat()}",
        )
        for vendor_id, total in expected.items()
        if total
    }


def _flagged_counts(
    documents: QuerySet[Any], vendor_ids: Collection[int], code: str
) -> dict[int, tuple[int, int]]:
    """Return (documents, documents with a ``code`` finding) by vendor id."""
    rows = (
        documents.filter(vendor_id__in=vendor_ids)
        .values("vendor_id")
        .annotate(
            total=Count("pk", distinct=True),
            flagged=Count("pk", distinct=True, filter=Q(findings__code=code)),
        )
    )
    return {row["vendor_id"]: (row["total"], row["flagged"]) for row in rows}


def _ratio(numerator: int, denominator: int) -> Decimal:
    return (Decimal(numerator) / Decimal(denominator)).quantize(MEASURE_PLACES, ROUND_HALF_UP)


def _percent_difference(billed: Decimal, ordered: Decimal) -> Decimal:
    if ordered == 0:
        return Decimal(0) if billed == 0 else HUNDRED
    return abs(billed - ordered) / abs(ordered) * HUNDRED


def _expires_later(candidate: dt.date | None, current: dt.date | None) -> bool:
    """Return whether ``candidate`` expires after ``current``, where no date is the latest."""
    if current is None:
        return False
    return candidate is None or candidate > current
