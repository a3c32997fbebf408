"""The definition of each dashboard figure, as the dashboard and its definitions page show it.

docs/kpis.md states the same definitions at more length; change both together.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Definition:
    anchor: str
    name: str
    formula: str
    meaning: str
    sources: str
    edge_cases: tuple[str, ...]


DEFINITIONS: tuple[Definition, ...] = (
    Definition(
        anchor="dso",
        name="Days sales outstanding (DSO)",
        formula=(
            "DSO = receivables at month end / net credit sales of the month x days in the month"
        ),
        meaning=(
            "How many days of sales are still unpaid at the end of the month. Receivables are "
            "the open amounts on the month's last day of the invoices issued up to that day: "
            "payable, less the credit notes issued and the payments received up to that day. "
            "Net credit sales are the payable of the invoices issued in the month, less that "
            "of the credit notes issued in it."
        ),
        sources="Issued invoices and credit notes, payment allocations and their payments.",
        edge_cases=(
            "Computed per currency; amounts in different currencies are never added.",
            "No value for a month whose net credit sales are zero or less.",
            "An invoice settled beyond its payable (paid, then credited) counts as zero, "
            "not as a negative receivable.",
        ),
    ),
    Definition(
        anchor="dispute-rate",
        name="Invoice dispute rate",
        formula=(
            "dispute rate = invoices issued in the month with a dispute / invoices issued "
            "in the month"
        ),
        meaning=(
            "The share of the month's invoices that a customer disputed, whenever the dispute "
            "was opened and whatever its outcome."
        ),
        sources="Issued invoices (credit notes excluded, reissues included) and disputes.",
        edge_cases=(
            "An invoice with several disputes counts once.",
            "No value for a month without issued invoices.",
            "A dispute opened later raises the rate of the month the invoice was issued in.",
        ),
    ),
    Definition(
        anchor="reissues",
        name="Reissue count",
        formula="reissues = invoices issued in the month that replace a disputed invoice",
        meaning="How many invoices had to be issued again after a dispute.",
        sources="Issued invoices whose replaced invoice is set.",
        edge_cases=("A reissue that is still held for review is not counted until issued.",),
    ),
    Definition(
        anchor="touchless",
        name="Touchless rate",
        formula=(
            "touchless rate = invoices issued in the month with no manual touch / invoices "
            "issued in the month"
        ),
        meaning=(
            "The share of invoices that went from the billing run to the customer without "
            "anybody touching them. An invoice is touched when it was edited by hand, issued "
            "by override, resolved from the exception queue, is a reissue after a dispute, or "
            "was not drafted by a billing run (imported or entered by hand)."
        ),
        sources=(
            "Issued invoices (manual edit flag, override reason, draft key, replaced invoice) "
            "and exception resolutions."
        ),
        edge_cases=(
            "A held draft that a later billing run drafted again, after its source was fixed "
            "without the exception queue, leaves no trace and counts as touchless.",
            "No value for a month without issued invoices.",
        ),
    ),
    Definition(
        anchor="exceptions-by-type",
        name="Exceptions open, by finding code",
        formula="drafts held per code = held drafts with at least one blocking finding of the code",
        meaning=(
            "The exception queue now, by the check that holds each draft, with the payable "
            "the drafts of each code hold. The Pareto chart shows the ten most frequent codes, "
            "largest first, and the cumulative share of all code occurrences."
        ),
        sources="Held drafts and their stored blocking findings (not those of observe mode).",
        edge_cases=(
            "A draft held by several codes counts under each, so the codes add up to more "
            "than the number of held drafts; the Pareto share uses the sum over all codes.",
            "Money is per currency.",
        ),
    ),
    Definition(
        anchor="money-held",
        name="Money held",
        formula="money held = sum of payable of the drafts held now, per currency",
        meaning=(
            "What the exception queue keeps from being invoiced now. The chart splits it by "
            "the month each held draft bills, which shows how old the queue is."
        ),
        sources="Held drafts (payable, currency, start of the billed period).",
        edge_cases=(
            "The chart shows only held drafts that bill one of the twelve months; the figure "
            "counts every held draft.",
        ),
    ),
    Definition(
        anchor="money-recovered",
        name="Money recovered by fixed exceptions",
        formula=(
            "money recovered = sum of payable of invoices issued after their exception was "
            "resolved at its source, per currency and month of issue"
        ),
        meaning=(
            "Invoices that the checks held, that someone fixed at the source (schedule, "
            "contract amendment, usage record) and that the billing run then drafted again and "
            "issued. Without the fix they would have gone out wrong or not at all."
        ),
        sources="Issued invoices with an exception resolution whose outcome is issued.",
        edge_cases=(
            "Overrides issue the held draft unchanged, so they recover nothing and are "
            "not counted.",
            "The figure is the whole amount invoiced after the fix, not the difference to "
            "the held draft, because the held draft is replaced when it is drafted again.",
        ),
    ),
    Definition(
        anchor="approval-time",
        name="Median approval time",
        formula=(
            "approval time = median over the month's decided change requests of (decision "
            "time - request time), in hours"
        ),
        meaning="How long a billing-critical change waits for its final decision.",
        sources=(
            "Change requests approved, applied or rejected, with their request and decision times."
        ),
        edge_cases=(
            "A request counts in the month of its decision.",
            "Withdrawn, expired and stale requests had no decision and are left out.",
            "No value for a month without decisions.",
        ),
    ),
    Definition(
        anchor="amendment-lag",
        name="Amendment lag",
        formula=(
            "amendment lag = median over the month's approved amendments of (approval date "
            "- signature date), in days"
        ),
        meaning="How long a signed amendment waits before the registry approves it.",
        sources="Approved amendments with their signature and approval dates.",
        edge_cases=(
            "An amendment counts in the month of its approval.",
            "Amendments without a signature date are left out.",
        ),
    ),
    Definition(
        anchor="cycle-time",
        name="Billing cycle time",
        formula=(
            "cycle time = time of the last invoice issued for the billing period - start of "
            "the period's first day, in days"
        ),
        meaning=(
            "How long it takes to get a billing period's invoices out. A billing run dates its "
            "invoices on the period's first day, the day after the previous period, whose "
            "usage is billed in arrears, ended; every exception resolved or overridden later "
            "moves the last issue time out."
        ),
        sources="Issued invoices of billing runs (not dry runs), by the run's period.",
        edge_cases=(
            "Reissues after a dispute are left out.",
            "The first day starts at midnight in the server's time zone.",
            "No value for a period without an issued invoice.",
        ),
    ),
    Definition(
        anchor="exceptions-by-team",
        name="Exceptions by the team whose change caused them",
        formula=(
            "team of a held draft = role of the requester of the last change applied to its "
            "contract or schedule before the draft was made"
        ),
        meaning=(
            "Which team's changes come before the drafts that the checks hold. The change is "
            "the last change request applied to the draft's contract (an amendment or a term "
            "change) or to one of its billing schedules before the draft was created."
        ),
        sources="Held drafts, applied change requests, the requesters' roles.",
        edge_cases=(
            "A draft without such a change counts as 'no change on record'; its cause came "
            "from outside the registry (a schedule import, a usage record).",
            "A requester with several roles counts under all of them joined with +.",
            "It shows the queue now; the registry keeps no history of past queues.",
        ),
    ),
)

BY_ANCHOR = {definition.anchor: definition for definition in DEFINITIONS}
