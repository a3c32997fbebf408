"""Amendment checks: approved amendments the draft lacks, and signed ones still pending.

An approved amendment creates the next contract version, but the billing schedule that
drafts are made from changes only when someone applies the amendment to it. A draft that
still bills the terms from before the amendment is reported here rather than as a price or
quantity difference.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from billguard.checks.context import CheckContext, Draft
from billguard.checks.engine import check
from billguard.checks.finding import Observation, Severity
from billguard.checks.line_terms import (
    FAMILY,
    FIXED,
    MissedAmendment,
    PricedLine,
    amendment_evidence,
    amendment_of,
    at_stake,
    committed_amounts,
    contracted_quantity,
    is_true_up,
    line_end,
    line_subject,
    missed_amendment,
    price_after_changes,
    price_steps,
    price_text,
    priced_line,
    quantity_text,
    share_from,
    term_end,
    unit_price_of,
    version_term_end,
    versions_until,
)
from billguard.domain.invoice import InvoiceLine
from billguard.domain.money import Money
from billguard.registry.models import Amendment, ContractVersion
from billguard.registry.pricing import contract_line, price_list_item_on
from billguard.registry.services.amendments import apply_changes
from billguard.registry.terms import LineTerms, VersionTerms, terms_from_version


def removing_amendment(
    draft: Draft, context: CheckContext, line: InvoiceLine
) -> tuple[Amendment, ContractVersion] | None:
    """Find the approved amendment that removed ``line``'s contract line before its service."""
    day = draft.line_start(line)
    if not line.item_id or is_true_up(line) or day is None:
        return None
    versions = versions_until(context, day)
    if not versions or contract_line(versions[-1], line.item_id) is not None:
        return None
    for older, newer in reversed(list(itertools.pairwise(versions))):
        amendment = amendment_of(context, newer)
        if contract_line(older, line.item_id) is not None and amendment is not None:
            return amendment, newer
    return None


@dataclass(frozen=True)
class SplitAmendment:
    """An approved amendment that takes effect inside a line's service period.

    Drafting would have split the line at that date. ``price`` is None when the amendment
    removes the line.
    """

    amendment: Amendment
    effective_from: dt.date
    price: Decimal | None
    quantity: Decimal | None
    amount: Decimal


def mid_line_amendment(
    draft: Draft, context: CheckContext, priced: PricedLine
) -> SplitAmendment | None:
    """Find the first approved amendment that changes the line inside its service period."""
    line, end = priced.line, line_end(draft, priced.line)
    if end is None:
        return None
    for version in sorted(context.versions, key=lambda v: v.effective_from):
        amendment = amendment_of(context, version)
        if amendment is None or not priced.day < version.effective_from <= end:
            continue
        share = share_from(draft, context, line, priced.kind, version.effective_from)
        new_line = contract_line(version, line.item_id)
        if new_line is None:
            return SplitAmendment(
                amendment, version.effective_from, None, None, -line.net_amount * share
            )
        new = price_steps(version, new_line, version.effective_from, context)
        old = price_steps(priced.version, priced.contract_line, version.effective_from, context)
        if new is None or old is None:
            continue
        new_price = new[1][-1]
        new_quantity = contracted_quantity(new_line) if priced.kind == FIXED else line.quantity
        if new_price == old[1][-1] and new_quantity == priced.expected_quantity:
            continue
        amount = (new_quantity * new_price - line.quantity * priced.actual_price) * share
        return SplitAmendment(amendment, version.effective_from, new_price, new_quantity, amount)
    return None


@check("AMENDMENT_NOT_APPLIED", family=FAMILY, severity=Severity.BLOCK)
def amendment_not_applied(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    for line in draft.document.lines:
        priced = priced_line(draft, context, line)
        if priced is None:
            yield from _removed_line(draft, context, line)
            continue
        missed = missed_amendment(priced, context)
        if missed is not None:
            yield _missed_amendment_observation(draft, context, missed)
        elif not priced.price_differs and not priced.quantity_differs:
            split = mid_line_amendment(draft, context, priced)
            if split is not None:
                yield _split_amendment_observation(draft, context, priced, split)
    yield from _document_terms(draft, context)


def _missed_amendment_observation(
    draft: Draft, context: CheckContext, missed: MissedAmendment
) -> Observation:
    priced, line = missed.priced, missed.priced.line
    expected, actual = [], []
    if missed.price:
        expected.append(f"unit price {price_text(priced.expected_price)}")
        actual.append(f"unit price {price_text(priced.actual_price)}")
    if missed.quantity:
        expected.append(f"quantity {quantity_text(priced.expected_quantity)}")
        actual.append(f"quantity {quantity_text(line.quantity)}")
    number = missed.amendment.number
    return Observation(
        subject=line_subject(line),
        message=(
            f"{line.item_id} is billed with its terms from before amendment {number}, approved "
            f"and in force from {missed.amendment.effective_from}; apply the amendment to the "
            "billing schedule and draft the invoice again"
        ),
        expected=", ".join(expected),
        actual=", ".join(actual),
        amount_at_stake=at_stake(draft, missed.amount),
        evidence={
            **context.contract_evidence(priced.version),
            **amendment_evidence(missed.amendment),
        },
    )


def _split_amendment_observation(
    draft: Draft, context: CheckContext, priced: PricedLine, split: SplitAmendment
) -> Observation:
    line = priced.line
    if split.price is None:
        expected = f"no {line.item_id} from {split.effective_from}"
    else:
        quantity = split.quantity if split.quantity is not None else line.quantity
        expected = (
            f"from {split.effective_from}: unit price {price_text(split.price)}, "
            f"quantity {quantity_text(quantity)}"
        )
    return Observation(
        subject=line_subject(line),
        message=(
            f"amendment {split.amendment.number} changes {line.item_id} from "
            f"{split.effective_from}, inside the line's service period, but the line is billed "
            "on the earlier terms throughout"
        ),
        expected=expected,
        actual=(
            f"unit price {price_text(priced.actual_price)}, quantity "
            f"{quantity_text(line.quantity)} for the whole line"
        ),
        amount_at_stake=at_stake(draft, split.amount),
        evidence={
            **context.contract_evidence(priced.version),
            **amendment_evidence(split.amendment),
        },
    )


def _removed_line(draft: Draft, context: CheckContext, line: InvoiceLine) -> Iterator[Observation]:
    removal = removing_amendment(draft, context, line)
    if removal is None:
        return
    amendment, version = removal
    yield Observation(
        subject=line_subject(line),
        message=(
            f"amendment {amendment.number} removed {line.item_id} from "
            f"{amendment.effective_from}, but the draft still bills it"
        ),
        expected=f"no {line.item_id}",
        actual=f"{quantity_text(line.quantity)} x {price_text(unit_price_of(line))}",
        amount_at_stake=at_stake(draft, -line.net_amount),
        evidence={**context.contract_evidence(version), **amendment_evidence(amendment)},
    )


def _document_terms(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    """Check the draft's customer PO and bill-to against approved amendments by its end."""
    end = draft.service_end
    if end is None:
        return
    versions = versions_until(context, end)
    buyer_code = draft.document.buyer.identifier or (
        context.bill_to.code if context.bill_to is not None else ""
    )
    terms = (
        ("customer PO", draft.document.order_reference, _customer_po),
        ("bill-to", buyer_code, _bill_to_code),
    )
    for label, billed, term_of in terms:
        if not versions or billed == term_of(versions[-1]):
            continue
        for older, newer in reversed(list(itertools.pairwise(versions))):
            amendment = amendment_of(context, newer)
            if amendment is None or term_of(older) == term_of(newer) or billed != term_of(older):
                continue
            yield Observation(
                subject=label,
                message=(
                    f"the draft's {label} {billed or '(empty)'} is the one before amendment "
                    f"{amendment.number}, which changed it from {amendment.effective_from}"
                ),
                expected=term_of(versions[-1]) or "(empty)",
                actual=billed or "(empty)",
                # The customer rejects an invoice with the wrong PO or bill-to as a whole.
                amount_at_stake=Money(draft.document.totals.payable, draft.document.currency),
                evidence={
                    **context.contract_evidence(versions[-1]),
                    **amendment_evidence(amendment),
                },
            )
            break


def _customer_po(version: ContractVersion) -> str:
    return version.customer_po


def _bill_to_code(version: ContractVersion) -> str:
    return version.bill_to.code if version.bill_to is not None else ""


@check("AMENDMENT_PENDING", family=FAMILY, severity=Severity.WARN)
def amendment_pending(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    """Report signed amendments, not yet approved, that would change this draft's amount.

    The amendment's changes are applied to the version in force on its effective date, and
    the result is compared with the terms the draft's lines are priced on.
    """
    end = draft.service_end
    if end is None:
        return
    pending = [
        a
        for a in context.amendments
        if a.status == Amendment.Status.SIGNED and a.effective_from <= end
    ]
    for amendment in sorted(pending, key=lambda a: (a.effective_from, a.number)):
        base = context.version_on(amendment.effective_from)
        if base is None:
            continue  # CONTRACT_NOT_ACTIVE covers service before the first version
        evidence = {**context.contract_evidence(base), **amendment_evidence(amendment)}
        try:
            terms = apply_changes(terms_from_version(base), amendment.changes)
        except (ArithmeticError, ValueError, TypeError) as error:
            yield Observation(
                subject=f"amendment {amendment.number}",
                message=(
                    f"amendment {amendment.number} is signed, but its changes cannot be read "
                    f"({error}); correct them in the registry before it is approved"
                ),
                evidence=evidence,
            )
            continue
        changes = pending_changes(draft, context, amendment.effective_from, terms)
        if not changes:
            continue
        total = sum((change.amount for change in changes), Decimal(0))
        yield Observation(
            subject=f"amendment {amendment.number}",
            message=(
                f"amendment {amendment.number} was signed on {amendment.signed_on} but is not "
                f"approved; once approved it changes this draft by {price_text(total)} from "
                f"{amendment.effective_from}"
            ),
            expected="; ".join(change.after for change in changes),
            actual="; ".join(change.before for change in changes),
            amount_at_stake=at_stake(draft, total),
            evidence=evidence,
        )


@dataclass(frozen=True)
class TermChange:
    before: str
    after: str
    amount: Decimal  # change of the draft's amount, tax included for a tax rate change


def pending_changes(
    draft: Draft, context: CheckContext, effective_from: dt.date, terms: VersionTerms
) -> list[TermChange]:
    """List how the draft's amount changes if ``terms`` apply from ``effective_from``."""
    changes: list[TermChange] = []
    new_lines = {line.line_code: line for line in terms.lines}
    for line in draft.document.lines:
        priced = priced_line(draft, context, line)
        if priced is None:
            continue
        share = share_from(draft, context, line, priced.kind, effective_from)
        if share == 0:
            continue
        new_line = new_lines.get(line.item_id)
        if new_line is None:
            changes.append(
                TermChange(
                    f"{line.item_id} billed", f"{line.item_id} removed", -line.net_amount * share
                )
            )
            continue
        changes.extend(_line_changes(context, priced, new_line, terms, share))
        changes.extend(_end_date_change(draft, context, priced, terms, effective_from))

    version = context.version_on(draft.service_start)
    if version is not None and terms.minimum_commitment != version.minimum_commitment:
        committed = committed_amounts(draft, context, version)
        amount = committed.shortfall(terms.minimum_commitment) - committed.shortfall(
            version.minimum_commitment
        )
        if amount:
            changes.append(
                TermChange(
                    f"minimum commitment {_optional_price(version.minimum_commitment)}",
                    f"minimum commitment {_optional_price(terms.minimum_commitment)}",
                    amount,
                )
            )
    return changes


def _line_changes(
    context: CheckContext,
    priced: PricedLine,
    new_line: LineTerms,
    terms: VersionTerms,
    share: Decimal,
) -> Iterator[TermChange]:
    line, code = priced.line, priced.line.item_id
    new_price = _amended_price(context, priced, new_line, terms)
    if priced.kind == FIXED:
        new_quantity = new_line.quantity if new_line.quantity is not None else Decimal(1)
    else:
        new_quantity = line.quantity
    old_quantity, old_price = priced.expected_quantity, priced.expected_price
    if new_price is not None and (new_price, new_quantity) != (old_price, old_quantity):
        yield TermChange(
            f"{code} {quantity_text(old_quantity)} x {price_text(old_price)}",
            f"{code} {quantity_text(new_quantity)} x {price_text(new_price)}",
            (new_quantity * new_price - old_quantity * old_price) * share,
        )

    old_terms = priced.contract_line
    old_rate = old_terms.tax_rate if old_terms.tax_category else priced.version.tax_rate
    new_rate = new_line.tax_rate if new_line.tax_category else terms.tax_rate
    if old_rate is not None and new_rate is not None and old_rate != new_rate:
        yield TermChange(
            f"{code} tax rate {quantity_text(old_rate)}%",
            f"{code} tax rate {quantity_text(new_rate)}%",
            line.net_amount * share * (new_rate - old_rate) / 100,
        )


def _amended_price(
    context: CheckContext, priced: PricedLine, new_line: LineTerms, terms: VersionTerms
) -> Decimal | None:
    """Return the line's unit price under the amended terms, with the same scheduled changes."""
    base = new_line.unit_price
    if base is None:
        # NOTE: the context holds only the items of price lists that a version names, so an
        # amendment that moves the line to another price list gives no price here.
        item = price_list_item_on(
            context.price_list_items, terms.price_list_id, new_line.product_code, priced.day
        )
        if item is None:
            return None
        base = item.unit_price
    return price_after_changes(base, priced.quote.applied_changes)[-1]


def _end_date_change(
    draft: Draft,
    context: CheckContext,
    priced: PricedLine,
    terms: VersionTerms,
    effective_from: dt.date,
) -> Iterator[TermChange]:
    """Yield the part of the line after an earlier end date that the amendment sets."""
    end = line_end(draft, priced.line)
    if end is None:
        return
    new_end = term_end(terms.end_date, terms.renewal_terms, terms.renewal_months, end)
    old_end = version_term_end(priced.version, end)
    if new_end is None or new_end >= end or (old_end is not None and old_end <= new_end):
        return
    cut_from = max(new_end + dt.timedelta(days=1), effective_from)
    share = share_from(draft, context, priced.line, priced.kind, cut_from)
    if old_end is not None and old_end < end:
        share -= share_from(
            draft, context, priced.line, priced.kind, old_end + dt.timedelta(days=1)
        )
    if share:
        yield TermChange(
            f"{priced.line.item_id} billed to {end}",
            f"{priced.line.item_id} ends on {new_end}",
            -priced.line.net_amount * share,
        )


def _optional_price(value: Decimal | None) -> str:
    return price_text(value) if value is not None else "none"
