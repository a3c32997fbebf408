"""The demo's "Procurement" section: vendor invoices by status, the findings on held invoices by
code, and the purchase orders held by a finding."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count

from billguard.domain.money import Money, money_text
from billguard.procurement.models import ProcurementFinding, PurchaseOrder, VendorInvoice


@dataclass(frozen=True)
class FindingCount:
    code: str
    invoices: int
    # Money at stake per currency, rounded to its minor unit.
    at_stake: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class ProcurementOverview:
    by_status: dict[str, int]
    findings: list[FindingCount]
    # Held purchase orders: (number, vendor code, the codes of their blocking findings).
    held_orders: list[tuple[str, str, list[str]]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def procurement_overview() -> ProcurementOverview:
    """Count vendor invoices per status and the findings on held invoices per check code."""
    by_status = Counter(
        {
            row["status"]: row["count"]
            for row in VendorInvoice.objects.values("status").annotate(count=Count("pk"))
        }
    )
    invoices: dict[str, set[int]] = {}
    at_stake: dict[str, dict[str, Decimal]] = {}
    # Findings of approved or rejected invoices are settled: only held invoices are at stake.
    findings = ProcurementFinding.objects.filter(
        vendor_invoice__status=VendorInvoice.Status.HELD
    ).values_list("code", "vendor_invoice_id", "amount_at_stake", "currency")
    for code, invoice_id, amount, currency in findings:
        invoices.setdefault(code, set()).add(invoice_id)
        if amount is not None and currency:
            stakes = at_stake.setdefault(code, {})
            stakes[currency] = stakes.get(currency, Decimal(0)) + amount
    counts = [
        FindingCount(
            code=code,
            invoices=len(invoices[code]),
            at_stake={
                currency: Money.of(amount, currency).rounded().amount
                for currency, amount in sorted(at_stake.get(code, {}).items())
            },
        )
        for code in sorted(invoices)
    ]
    held_orders = [
        (
            order.number,
            order.vendor.code,
            sorted({f.code for f in order.findings.all() if f.severity == "block"}),
        )
        for order in PurchaseOrder.objects.filter(status=PurchaseOrder.Status.HELD)
        .select_related("vendor")
        .prefetch_related("findings")
        .order_by("number")
    ]
    return ProcurementOverview(by_status=dict(by_status), findings=counts, held_orders=held_orders)


def format_procurement(overview: ProcurementOverview) -> str:
    """Return the overview as the indented text section that the demo prints."""
    lines = ["Procurement"]
    for status, label in (
        (VendorInvoice.Status.MATCHED, "vendor invoices matched"),
        (VendorInvoice.Status.HELD, "vendor invoices held"),
        (VendorInvoice.Status.APPROVED, "vendor invoices approved"),
        (VendorInvoice.Status.REJECTED, "vendor invoices rejected"),
    ):
        lines.append(f"  {label:<36}{overview.by_status.get(status, 0):>5}")
    if overview.findings:
        lines.append(f"  {'findings on held invoices, by code':<36}{'invoices':>8}  at stake")
    for finding in overview.findings:
        stake = ", ".join(
            money_text(amount, currency) for currency, amount in finding.at_stake.items()
        )
        lines.append(f"    {finding.code:<34}{finding.invoices:>8}  {stake or '-'}")
    lines.append("  decide held ones with `billguard vendor-invoices list --status held`")
    lines.append(f"  {'purchase orders held':<36}{len(overview.held_orders):>5}")
    for number, vendor, codes in overview.held_orders:
        lines.append(f"    {number:<18}{vendor:<12}{', '.join(codes) or '-'}")
    if overview.held_orders:
        lines.append("  see why with `billguard purchase-orders show NUMBER`")
    return "\n".join(lines)
