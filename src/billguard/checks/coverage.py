"""Checks of the coverage family: the draft bills nothing twice, stays within the customer's
purchase order and leaves no earlier billing period of its contract unbilled.

The checks compare the draft with the issued invoices and credit notes of the context. Service
periods are inclusive date ranges (EN 16931 BT-73 and BT-74 on the document, BT-134 and BT-135
on a line). An issued invoice counts until credit notes that refer to it (``credited_invoice``)
reverse its whole payable amount, so a partly credited invoice still counts.

ALREADY_INVOICED compares the draft with the invoices of its contract line by line: they
overlap only where lines of the same contract line (the same ``item_id`` or ``line_code``)
share a service day. So the invoice that bills October's fixed fee in advance and the next
one, which bills October's usage in arrears, do not overlap. When a line of either document
has no contract line code or no service dates, as on invoices from other systems, the
document service periods are compared instead.

DUPLICATE_INVOICE_SUSPECTED compares the draft with the invoices of the party's other
contracts, whose line codes mean other things, so it compares document service periods.
Invoices of the draft's own contract are left to ALREADY_INVOICED, which reports every one
that this check would.

BILLING_PERIOD_MISSED treats a billing period of the schedule as missed when all of these hold:

- a recurring fixed line of the schedule is in force in it, so an amount was due;
- it ends on or before the first day of the draft's fixed fees, and it is one of the 12
  billing periods before the period that contains that day. A draft without fixed-fee lines
  uses its service start. Usage billed in arrears on the draft does not count, so a draft
  that bills November's fee and October's usage is checked up to October;
- it starts on or after the first day that an issued invoice of the contract billed a fixed
  fee, counting reversed invoices too;
- no issued invoice of the contract that is not fully reversed has a fixed-fee line whose
  service period shares a day with it. A line of unknown kind, as on an invoice from another
  system, counts as a fixed-fee line.

A contract with no issued invoice gets no BILLING_PERIOD_MISSED finding. Periods before the
contract's first invoice in Billguard may have been billed by the system it replaced, and
Billguard has no record of those invoices. So the first issued invoice is the baseline.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from billguard.billing.models import Invoice
from billguard.billing.models import InvoiceLine as StoredLine
from billguard.checks.context import CheckContext, Draft
from billguard.checks.engine import check
from billguard.checks.finding import Observation, Severity
from billguard.domain.currencies import is_currency, minor_units
from billguard.domain.invoice import InvoiceLine as DocumentLine
from billguard.domain.money import Money
from billguard.domain.periods import BillingPeriod, Cadence, period_containing, periods_between
from billguard.domain.proration import prorate
from billguard.domain.rounding import RoundingMode, round_decimal
from billguard.registry.models import BillingSchedule, BillingScheduleLine
from billguard.registry.models.contracts import LineKind

FAMILY = "coverage"

# How many billing periods before the draft BILLING_PERIOD_MISSED looks back.
MISSED_PERIODS_LOOKBACK = 12

# Line kinds billed from records or once, which do not show that a period's fixed fee was billed.
_NOT_FIXED_KINDS = frozenset({LineKind.USAGE, LineKind.TIME_AND_MATERIALS, LineKind.MILESTONE})


@dataclass(frozen=True)
class _Span:
    """One line of a document: the contract line it bills and its inclusive service dates."""

    code: str
    kind: str
    start: dt.date | None
    end: dt.date | None


def _draft_amount(draft: Draft, amount: Decimal) -> Money | None:
    # None when the draft's currency is not an ISO 4217 code, so no Money can carry the amount.
    currency = draft.document.currency
    if not is_currency(currency):
        return None
    return Money(amount, currency).rounded()


def _shown(amount: Decimal, currency: str) -> str:
    if not is_currency(currency):
        return f"{amount} {currency}"
    return str(Money(amount, currency).rounded())


def _normalized(text: str) -> str:
    return " ".join(text.split()).casefold()


def _overlap(
    first: tuple[dt.date | None, dt.date | None], second: tuple[dt.date | None, dt.date | None]
) -> bool:
    """Return whether two inclusive date ranges share a day. An open-ended range shares none."""
    a_start, a_end = first
    b_start, b_end = second
    if a_start is None or a_end is None or b_start is None or b_end is None:
        return False
    return a_start <= b_end and b_start <= a_end


# A line's normalized description, quantity and unit price.
_LineTerms = tuple[str, Decimal, Decimal]


@dataclass(frozen=True)
class _IssuedFacts:
    """The parts of an issued document that the checks of this family read: its inclusive
    service period, its lines' spans and the spans of its fixed-fee lines."""

    period: tuple[dt.date | None, dt.date | None]
    spans: tuple[_Span, ...]
    fixed_fee_spans: tuple[_Span, ...]
    # Whether every line names its contract line and has service dates, and the spans by
    # contract line code.
    coded: bool
    spans_by_code: dict[str, tuple[_Span, ...]]


# The instance attribute that keeps an issued document's facts. A draft's checks compare it
# with every invoice of its contract and party, and a chunk's drafts share those instances,
# so the facts are worked out once per loaded instance. Issued documents do not change.
_FACTS_ATTRIBUTE = "_coverage_facts"


def _facts(invoice: Invoice) -> _IssuedFacts:
    facts: _IssuedFacts | None = invoice.__dict__.get(_FACTS_ATTRIBUTE)
    if facts is None:
        facts = _facts_work_out(invoice)
        invoice.__dict__[_FACTS_ATTRIBUTE] = facts
    return facts


def _facts_work_out(invoice: Invoice) -> _IssuedFacts:
    lines = list(invoice.lines.all())
    start = invoice.period_start
    if start is None:
        starts = [line.service_start for line in lines if line.service_start]
        start = min(starts) if starts else invoice.issue_date
    end = invoice.period_end
    if end is None:
        ends = [line.service_end for line in lines if line.service_end]
        end = max(ends) if ends else start
    spans = tuple(
        _Span(
            code=line.line_code,
            kind=line.kind,
            start=line.service_start or start,
            end=line.service_end or end,
        )
        for line in lines
    )
    # An invoice without lines counts as one fixed-fee line over its period.
    fixed = tuple(s for s in spans if _is_fixed_fee(s)) if spans else (_Span("", "", start, end),)
    by_code: dict[str, list[_Span]] = defaultdict(list)
    for span in spans:
        by_code[span.code].append(span)
    return _IssuedFacts(
        period=(start, end),
        spans=spans,
        fixed_fee_spans=fixed,
        coded=_coded(spans),
        spans_by_code={code: tuple(found) for code, found in by_code.items()},
    )


def _coded(spans: Iterable[_Span]) -> bool:
    return all(s.code and s.start and s.end for s in spans)


def _invoice_period(invoice: Invoice) -> tuple[dt.date | None, dt.date | None]:
    return _facts(invoice).period


def _invoice_spans(invoice: Invoice) -> tuple[_Span, ...]:
    return _facts(invoice).spans


def _draft_spans(draft: Draft) -> tuple[_Span, ...]:
    return draft.cached_fact("coverage_spans", lambda: _draft_spans_work_out(draft))


def _draft_spans_work_out(draft: Draft) -> tuple[_Span, ...]:
    service_start = draft.service_start
    service_end = draft.service_end
    return tuple(
        _Span(
            code=line.item_id,
            kind=draft.line_kind(line),
            start=line.service_start or service_start,
            end=line.service_end or service_end,
        )
        for line in draft.document.lines
    )


def _bills_same_days(
    draft: Draft, draft_spans: tuple[_Span, ...], draft_coded: bool, invoice: Invoice
) -> bool:
    """Return whether ``invoice``, of the draft's contract, bills days that the draft bills.

    ``draft_spans`` are the draft's as ``_draft_spans`` returns them, and ``draft_coded``
    is True when each of them names its contract line and has dates. Only lines of the same
    contract line are compared, when every line of both documents names its contract line and
    service dates. Otherwise the document service periods are compared.
    """
    facts = _facts(invoice)
    if draft_spans and facts.spans and draft_coded and facts.coded:
        return any(
            _overlap((mine.start, mine.end), (theirs.start, theirs.end))
            for mine in draft_spans
            for theirs in facts.spans_by_code.get(mine.code, ())
        )
    return _documents_overlap(draft, invoice)


def _documents_overlap(draft: Draft, invoice: Invoice) -> bool:
    return _overlap((draft.service_start, draft.service_end), _invoice_period(invoice))


def _issued_documents(draft: Draft, context: CheckContext) -> list[Invoice]:
    """Collect the issued invoices and credit notes of the contract and the party, each once."""
    documents: dict[int, Invoice] = {}
    for document in [*context.contract_invoices, *context.party_invoices]:
        if document.pk != draft.invoice_id:
            documents[document.pk] = document
    return list(documents.values())


def _standing_invoices(documents: list[Invoice]) -> list[Invoice]:
    """Return the invoices among ``documents`` that credit notes have not fully reversed."""
    credited: dict[int, Decimal] = {}
    for document in documents:
        if (
            document.document_type == Invoice.DocumentType.CREDIT_NOTE
            and document.credited_invoice_id
        ):
            # Credit notes state positive amounts (EN 16931), and abs() also accepts negative ones.
            credited[document.credited_invoice_id] = credited.get(
                document.credited_invoice_id, Decimal(0)
            ) + abs(document.payable)
    return [
        document
        for document in documents
        if document.document_type == Invoice.DocumentType.INVOICE
        and not (document.pk in credited and credited[document.pk] >= document.payable)
    ]


def _invoice_label(invoice: Invoice) -> str:
    return (
        f"{invoice.number} of {invoice.issue_date}" if invoice.issue_date else str(invoice.number)
    )


@check("ALREADY_INVOICED", family=FAMILY, severity=Severity.BLOCK)
def already_invoiced(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    assert context.contract is not None
    contract = context.contract
    documents = [d for d in context.contract_invoices if d.pk != draft.invoice_id]
    draft_spans = _draft_spans(draft)
    draft_coded = _coded(draft_spans)
    billed = [
        invoice
        for invoice in _standing_invoices(documents)
        if _bills_same_days(draft, draft_spans, draft_coded, invoice)
    ]
    if not billed:
        return
    billed.sort(key=lambda invoice: (invoice.issue_date or dt.date.min, invoice.pk))
    numbers = ", ".join(str(invoice.number) for invoice in billed)
    periods = ", ".join(
        f"{start} to {end}" for start, end in (_invoice_period(invoice) for invoice in billed)
    )
    yield Observation(
        subject="service period",
        message=(
            f"contract {contract.number} already has issued invoice {numbers} for service days "
            f"that this draft bills again between {draft.service_start} and {draft.service_end}"
        ),
        expected="no issued invoice for these service days",
        actual=f"issued invoice {numbers}",
        amount_at_stake=_draft_amount(draft, draft.document.totals.payable),
        evidence={
            **context.contract_evidence(context.version_on(draft.service_start)),
            "issued_invoices": numbers,
            "issued_periods": periods,
        },
    )


def _duplicate_reasons(draft: Draft, invoice: Invoice) -> list[str]:
    document = draft.document
    reasons = []
    po = _normalized(document.order_reference)
    if (
        po
        and _normalized(invoice.customer_po) == po
        and invoice.currency == document.currency
        and invoice.payable == document.totals.payable
    ):
        reasons.append("same customer PO and amount")
    if _same_lines(draft, invoice):
        reasons.append("same lines")
    return reasons


def _same_lines(draft: Draft, invoice: Invoice) -> bool:
    """Return whether each line of the draft pairs with its own line of ``invoice``, and no
    line of either is left over.

    Paired lines have the same description, quantity and unit price, and service periods that
    share a day where both have dates. So one flat fee billed in two consecutive months does
    not pair.
    """
    theirs, their_count = _invoice_line_terms(invoice)
    if not theirs or len(theirs) != len(draft.document.lines):
        return False
    mine, mine_count = _draft_line_terms(draft)
    if mine_count != their_count:
        # Some line has no line of the same terms to pair with, whatever the service days.
        return False
    their_spans = _invoice_spans(invoice)
    unpaired = list(range(len(theirs)))
    for terms, span in zip(mine, _draft_spans(draft), strict=True):
        match = next(
            (
                index
                for index in unpaired
                if theirs[index] == terms and _may_share_days(span, their_spans[index])
            ),
            None,
        )
        if match is None:
            return False
        unpaired.remove(match)
    return True


# The instance attribute that keeps an issued document's line terms, worked out only for
# the documents that DUPLICATE_INVOICE_SUSPECTED compares line by line.
_LINE_TERMS_ATTRIBUTE = "_coverage_line_terms"


def _invoice_line_terms(invoice: Invoice) -> tuple[tuple[_LineTerms, ...], Counter[_LineTerms]]:
    """Return each line's normalized description, quantity and unit price, in line order, and
    counted: the lines of two documents pair up (``_same_lines``) only if their counts agree."""
    found: tuple[tuple[_LineTerms, ...], Counter[_LineTerms]] | None = invoice.__dict__.get(
        _LINE_TERMS_ATTRIBUTE
    )
    if found is None:
        found = invoice.__dict__[_LINE_TERMS_ATTRIBUTE] = _line_terms(invoice.lines.all())
    return found


def _draft_line_terms(draft: Draft) -> tuple[tuple[_LineTerms, ...], Counter[_LineTerms]]:
    """Return the draft's line terms as ``_invoice_line_terms`` returns an invoice's."""
    return draft.cached_fact("coverage_line_terms", lambda: _line_terms(draft.document.lines))


def _line_terms(
    lines: Iterable[StoredLine | DocumentLine],
) -> tuple[tuple[_LineTerms, ...], Counter[_LineTerms]]:
    terms = tuple((_normalized(line.description), line.quantity, line.unit_price) for line in lines)
    return terms, Counter(terms)


def _may_share_days(first: _Span, second: _Span) -> bool:
    """Return whether two lines share a service day, or either has no dates to tell."""
    if None in (first.start, first.end, second.start, second.end):
        return True
    return _overlap((first.start, first.end), (second.start, second.end))


@check("DUPLICATE_INVOICE_SUSPECTED", family=FAMILY, severity=Severity.BLOCK)
def duplicate_invoice_suspected(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    assert context.contract is not None
    contract_id = context.contract.pk
    matches: list[tuple[Invoice, list[str]]] = []
    days = (draft.service_start, draft.service_end)
    for invoice in _standing_invoices(_issued_documents(draft, context)):
        # ALREADY_INVOICED reports every invoice of the draft's own contract that this check
        # would, with the same overlap rule, so only other contracts are compared here.
        if invoice.contract_id == contract_id:
            continue
        if not _overlap(days, _invoice_period(invoice)):
            continue
        reasons = _duplicate_reasons(draft, invoice)
        if reasons:
            matches.append((invoice, reasons))
    if not matches:
        return
    matches.sort(key=lambda match: (match[0].issue_date or dt.date.min, match[0].pk))
    described = "; ".join(
        f"{_invoice_label(invoice)} ({', '.join(reasons)})" for invoice, reasons in matches
    )
    numbers = ", ".join(str(invoice.number) for invoice, _ in matches)
    sellers = sorted(
        {str((invoice.parties or {}).get("seller", {}).get("name", "")) for invoice, _ in matches}
        - {""}
    )
    yield Observation(
        subject="invoice",
        message=(
            "the draft looks like a duplicate of issued invoice "
            f"{described}, for service days that overlap {draft.service_start} to "
            f"{draft.service_end}"
        ),
        expected="no issued invoice to the same customer for the same service",
        actual=f"issued invoice {numbers}",
        amount_at_stake=_draft_amount(draft, draft.document.totals.payable),
        evidence={
            **context.contract_evidence(context.version_on(draft.service_start)),
            "duplicate_of": numbers,
            "seller_entities": ", ".join(sellers),
            "matched_on": "; ".join(", ".join(reasons) for _, reasons in matches),
        },
    )


def _billed_against_po(documents: list[Invoice], po: str, currency: str) -> Decimal:
    """Net line extension of the issued invoices on ``po``, less their credit notes.

    A credit note counts against the PO it names, or else the PO of the invoice it reverses.
    Documents in another currency than the ceiling's are left out, because they cannot be added.
    """
    by_pk = {document.pk: document for document in documents}
    total = Decimal(0)
    for document in documents:
        if document.currency != currency:
            continue
        document_po = _normalized(document.customer_po)
        if document.document_type == Invoice.DocumentType.CREDIT_NOTE:
            credited = by_pk.get(document.credited_invoice_id or 0)
            if not document_po and credited is not None:
                document_po = _normalized(credited.customer_po)
            if document_po == po:
                total -= abs(document.line_extension)
        elif document_po == po:
            total += document.line_extension
    return total


@check("PO_CEILING_EXCEEDED", family=FAMILY, severity=Severity.BLOCK)
def po_ceiling_exceeded(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    version = context.version_on(draft.service_start)
    if version is None or version.po_ceiling is None or not version.customer_po.strip():
        return
    currency = version.currency
    if draft.document.currency != currency or not is_currency(currency):
        return  # The amounts cannot be added, and CURRENCY_MISMATCH reports the draft.

    # The contract version fixes the PO that pays for its service, so the draft counts against
    # it whatever order reference the draft carries. Amounts are tax-exclusive line extensions
    # (BT-106), the one net total that stored invoices keep.
    drafted = draft.document.totals.line_extension
    if drafted <= 0:
        return

    po = _normalized(version.customer_po)
    # NOTE: invoices of other contracts on the PO are counted only within the look-back
    # window of checks.selectors (LOOKBACK_DAYS around the draft), unlike this contract's.
    billed = _billed_against_po(_issued_documents(draft, context), po, currency)
    total = billed + drafted
    ceiling = version.po_ceiling
    if total <= ceiling:
        return

    # The part of this draft above the ceiling. When earlier invoices already exceeded the
    # ceiling, that is the whole draft.
    excess = min(total - ceiling, drafted)

    yield Observation(
        subject="customer PO",
        message=(
            f"with this draft, invoices against PO {version.customer_po} would total "
            f"{_shown(total, currency)}, above its ceiling of {_shown(ceiling, currency)} by "
            f"{_shown(total - ceiling, currency)}"
        ),
        expected=_shown(ceiling, currency),
        actual=_shown(total, currency),
        amount_at_stake=Money(excess, currency).rounded(),
        evidence={
            **context.contract_evidence(version),
            "customer_po": version.customer_po,
            "billed_before_draft": _shown(billed, currency),
            "draft_amount": _shown(drafted, currency),
        },
    )


def _is_fixed_fee(span: _Span) -> bool:
    return span.kind not in _NOT_FIXED_KINDS


def _fixed_fee_spans(invoice: Invoice) -> tuple[_Span, ...]:
    """Return the fixed-fee lines of ``invoice``. An invoice without lines counts as one."""
    return _facts(invoice).fixed_fee_spans


class _DayRanges:
    """The inclusive date ranges of some spans, for asking whether any of them shares a day
    with another range (as ``_overlap`` decides for two). A span without both dates shares none.

    The ranges are sorted by first day beside the running latest last day, so a lookup costs
    a binary search instead of a pass over every span.
    """

    def __init__(self, spans: Iterable[_Span]) -> None:
        dated = sorted((s.start, s.end) for s in spans if s.start is not None and s.end is not None)
        self._starts = [start for start, _ in dated]
        self._reach = list(itertools.accumulate((end for _, end in dated), max))

    def share_a_day_with(self, start: dt.date, end: dt.date) -> bool:
        # The ranges that start on or before ``end``; one of them reaches ``start`` or later.
        count = bisect.bisect_right(self._starts, end)
        return count > 0 and self._reach[count - 1] >= start


def _periods_before(
    day: dt.date, schedule: BillingSchedule, cadence: Cadence
) -> list[BillingPeriod]:
    """Cut the schedule's last MISSED_PERIODS_LOOKBACK billing periods before the one that
    contains ``day`` to the days the schedule runs."""
    anchor = schedule.starts_on.month
    current = period_containing(day, cadence, schedule.billing_day, anchor_month=anchor)
    earliest = current
    for _ in range(MISSED_PERIODS_LOOKBACK):
        earliest = period_containing(
            earliest.start - dt.timedelta(days=1),
            cadence,
            schedule.billing_day,
            anchor_month=anchor,
        )
    start = max(earliest.start, schedule.starts_on)
    end = current.start
    if schedule.ends_on is not None:
        end = min(end, schedule.ends_on + dt.timedelta(days=1))
    if start >= end:
        return []
    return periods_between(start, end, cadence, schedule.billing_day, anchor_month=anchor)


def _fixed_amount(
    lines: list[BillingScheduleLine], piece: BillingPeriod, full: BillingPeriod, currency: str
) -> Decimal:
    """Compute what the fixed lines bill for ``piece`` of the billing period ``full``.

    Like drafting: quantity x unit price less the line discount, prorated by actual days when
    the line or the schedule covers only part of the period, rounded per line.
    """
    decimals = minor_units(currency)
    total = Decimal(0)
    for line in lines:
        start = max(piece.start, line.effective_from)
        end = piece.end if line.effective_to is None else min(piece.end, line.effective_to)
        if start >= end:
            continue
        quantity = line.quantity if line.quantity is not None else Decimal(1)
        discount = line.discount_percent or Decimal(0)
        amount = quantity * line.unit_price * (Decimal(100) - discount) / Decimal(100)
        covered = (end - start).days
        if covered < full.days:
            amount = prorate(amount, covered, full.days)
        total += round_decimal(amount, decimals, RoundingMode.HALF_UP)
    return total


@check("BILLING_PERIOD_MISSED", family=FAMILY, severity=Severity.WARN)
def billing_period_missed(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    assert context.contract is not None
    schedule = context.schedule
    fixed_starts = [s.start for s in _draft_spans(draft) if _is_fixed_fee(s) and s.start]
    first_fixed_day = min(fixed_starts) if fixed_starts else draft.service_start
    if schedule is None or first_fixed_day is None:
        return
    currency = schedule.currency
    if not is_currency(currency):
        return
    fixed_lines = [line for line in schedule.lines.all() if line.kind == LineKind.RECURRING_FIXED]
    if not fixed_lines:
        return

    invoices = [
        d
        for d in context.contract_invoices
        if d.pk != draft.invoice_id and d.document_type == Invoice.DocumentType.INVOICE
    ]
    billed_starts = [
        span.start for invoice in invoices for span in _fixed_fee_spans(invoice) if span.start
    ]
    if not billed_starts:
        return
    baseline = min(billed_starts)
    covering = _DayRanges(
        span
        for invoice in _standing_invoices(list(context.contract_invoices))
        if invoice.pk != draft.invoice_id
        for span in _fixed_fee_spans(invoice)
    )

    cadence = Cadence(schedule.cadence)
    for piece in _periods_before(first_fixed_day, schedule, cadence):
        if piece.start < baseline:
            continue
        if covering.share_a_day_with(piece.start, piece.last_day):
            continue
        full = period_containing(
            piece.start, cadence, schedule.billing_day, anchor_month=schedule.starts_on.month
        )
        amount = _fixed_amount(fixed_lines, piece, full, currency)
        if amount <= 0:
            continue
        yield Observation(
            subject=f"billing period {full.label}",
            message=(
                f"no issued invoice of contract {context.contract.number} bills the fixed fees "
                f"of {piece.start} to {piece.last_day}"
            ),
            expected=f"an issued invoice for {piece.start} to {piece.last_day}",
            actual="(none)",
            amount_at_stake=Money(amount, currency),
            evidence={
                **context.contract_evidence(context.version_on(piece.start)),
                "period_start": piece.start.isoformat(),
                "period_end": piece.last_day.isoformat(),
            },
        )
