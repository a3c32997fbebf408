"""Pass-through and cost-plus lines whose vendor cost changed after the customer terms were set.

A customer line linked to a vendor cost (procurement.models.CostLink) is held while the link has
an open cost change. The vendor now charges another price, and the customer terms were neither
amended nor the difference approved. The money at stake is what the draft would under-bill or
over-bill, as a positive amount:

- at cost and milestone links: (new cost - old cost) x quantity;
- cost plus: (price the new cost implies - billed price) x quantity, the margin lost.

A negative difference (the cost went down) is over-billing, and the message says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from billguard.checks.context import CheckContext, Draft
from billguard.checks.engine import INVOICE, check
from billguard.checks.finding import Observation, Severity
from billguard.checks.line_terms import (
    FAMILY,
    at_stake,
    is_true_up,
    line_subject,
    quantity_text,
    unit_price_of,
)
from billguard.domain.invoice import InvoiceLine
from billguard.procurement.cost_pricing import COST_PLUS, implied_price, price_text
from billguard.procurement.cost_resolution import price_for_cost
from billguard.procurement.models import CostChange


@check(
    "PASS_THROUGH_COST_CHANGED",
    family=FAMILY,
    severity=Severity.BLOCK,
    subject=INVOICE,
)
def pass_through_cost_changed(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    """Report each draft line whose contract line has an open vendor cost change."""
    if not context.cost_changes:
        return
    by_line: dict[str, list[CostChange]] = defaultdict(list)
    for change in context.cost_changes:
        by_line[change.link.line_code].append(change)
    for line in draft.document.lines:
        changes = by_line.get(line.item_id)
        if not changes or is_true_up(line):
            continue
        yield _observation(draft, context, line, changes)


def _observation(
    draft: Draft, context: CheckContext, line: InvoiceLine, changes: list[CostChange]
) -> Observation:
    link = changes[0].link
    old_cost = changes[0].old_cost
    new_cost = changes[-1].new_cost
    billed = line.gross_price if line.gross_price is not None else unit_price_of(line)
    expected_price = price_for_cost(link, new_cost, context.versions)

    if link.basis == COST_PLUS:
        difference = (implied_price(COST_PLUS, new_cost, link.margin_percent) - billed) * (
            line.quantity
        )
        short = "margin lost"
    else:
        difference = (new_cost - old_cost) * line.quantity
        short = "under-billed"
    what = short if difference >= 0 else "over-billed"
    amount = at_stake(draft, abs(difference))
    references = "; ".join(change.reference for change in changes)
    basis = link.get_basis_display()
    message = (
        f"{line_subject(line)} is priced from a vendor cost ({basis}) that changed from "
        f"{price_text(old_cost)} to {price_text(new_cost)} ({references}), and the customer "
        f"terms were neither amended nor the difference approved: {what} "
        f"{amount.amount} {amount.currency} on {quantity_text(line.quantity)} units."
    )
    evidence = {
        **context.contract_evidence(context.version_on(draft.line_start(line))),
        "cost_link": str(link.pk),
        "basis": link.basis,
        "cost_changes": ", ".join(str(change.pk) for change in changes),
        "vendor_sources": references,
    }
    if link.margin_percent is not None:
        evidence["margin_percent"] = f"{link.margin_percent.normalize():f}"
    return Observation(
        subject=line_subject(line),
        message=message,
        expected=price_text(expected_price) if expected_price is not None else "",
        actual=price_text(billed),
        amount_at_stake=amount,
        evidence=evidence,
    )
