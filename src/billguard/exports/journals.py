"""Journal exports in the import layouts of QuickBooks Online and Xero.

Each issued invoice or credit note becomes one journal with the lines of the billing run's
journal CSV (:func:`billguard.billing.outputs.journal_postings`). The receivable is debited
with the payable amount, and revenue is credited per GL account and tax per VAT breakdown
line. A credit note swaps debit and credit. Amounts are rounded to the currency's ISO 4217
minor units, and every journal must balance to the minor unit before anything is written.

Layouts (see docs/exports.md for the sources):

- QuickBooks Online, journal entries import: one row per line, rows of one entry share the
  Journal No, dates as MM/DD/YYYY, positive amounts in Debits or Credits.
- Xero, manual journals import template: rows of one journal share Narration and Date,
  dates as dd/mm/yyyy, Amount positive for a debit and negative for a credit, TaxRate on
  every row, at most 300 rows per file.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from billguard.billing.models import Invoice
from billguard.billing.outputs import journal_postings
from billguard.domain.currencies import minor_units
from billguard.domain.errors import InvalidInput, RuleViolation
from billguard.exports.models import AccountingSystem, AccountMapping, TaxMapping
from billguard.exports.treatments import UNTAXED, describe_treatment, treatment_key
from billguard.registry.models import GLAccount

QUICKBOOKS_HEADER = [
    "Journal No",
    "Journal Date",
    "Account",
    "Debits",
    "Credits",
    "Description",
    "Name",
    "Currency",
    "Location",
    "Class",
    "Tax Code",
]
XERO_HEADER = [
    "Narration",
    "Date",
    "Description",
    "AccountCode",
    "TaxRate",
    "Amount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
]
# Xero's manual journal import takes up to 300 lines per file (Xero Central, "Import manual
# journals").
XERO_MAX_ROWS = 300


@dataclass(frozen=True)
class JournalLine:
    kind: str  # receivable, revenue or tax
    account: str  # GL account code of the chart
    debit: Decimal  # rounded to the currency's minor units
    credit: Decimal
    treatment: str  # tax treatment key on tax lines, UNTAXED on the others
    description: str


@dataclass(frozen=True)
class Journal:
    """The journal of one issued invoice or credit note."""

    number: str
    document_type: str
    issue_date_text: str
    currency: str
    customer: str
    seller: str
    lines: list[JournalLine]

    @property
    def label(self) -> str:
        kind = (
            "Credit note" if self.document_type == Invoice.DocumentType.CREDIT_NOTE else "Invoice"
        )
        return f"{kind} {self.number}"

    def total(self) -> Decimal:
        return sum((line.debit for line in self.lines), Decimal(0))


@dataclass(frozen=True)
class MissingMapping:
    kind: str  # account or tax
    key: str
    system: str
    description: str
    invoices: list[str] = field(default_factory=list)


class MappingsMissing(RuleViolation):
    """An export needs mappings that are not set, so nothing was written."""

    code = "MAPPING_MISSING"

    def __init__(self, missing: list[MissingMapping], system: str) -> None:
        from billguard.exports.mappings import mapping_add_command

        self.missing = missing
        label = AccountingSystem(system).label
        self.summary = (
            f"{len(missing)} {'mapping is' if len(missing) == 1 else 'mappings are'} missing "
            f"for the {label} export, so nothing was written."
        )
        self.details = []
        for item in missing:
            examples = ", ".join(item.invoices[:3])
            more = f" and {len(item.invoices) - 3} more" if len(item.invoices) > 3 else ""
            self.details.append(
                f"  {item.description}, used by {examples}{more}:\n"
                f"    {mapping_add_command(item.kind, item.key, system)}"
            )
        super().__init__(
            "\n".join([self.summary, *self.details]),
            place="accounting mappings",
            value=[f"{m.kind} {m.key}" for m in missing],
            fix="Add each one with the command below it, or all at once with "
            "`billguard accounting-mappings import FILE`, then export again.",
        )

    def __str__(self) -> str:
        return "\n".join([f"{self.place}: {self.summary} {self.fix}", *self.details])


def build_journals(invoices: list[Invoice]) -> list[Journal]:
    """Return the journal of each of ``invoices`` (loaded with ``issued_in_period``).

    Raises RuleViolation when a journal does not balance once rounded to minor units.
    """
    account_names = dict(GLAccount.objects.values_list("code", "name"))
    journals = []
    for invoice in invoices:
        journals.append(_journal(invoice, account_names))
    return journals


def missing_mappings(journals: list[Journal], system: str) -> list[MissingMapping]:
    """Return every account and tax treatment of ``journals`` that has no ``system`` mapping."""
    accounts = set(
        AccountMapping.objects.filter(system=system).values_list("gl_account", flat=True)
    )
    treatments = set(TaxMapping.objects.filter(system=system).values_list("treatment", flat=True))
    account_names = dict(GLAccount.objects.values_list("code", "name"))
    needed: dict[tuple[str, str], list[str]] = defaultdict(list)
    for journal in journals:
        for line in journal.lines:
            keys = [("account", line.account)]
            # Xero's TaxRate column is mandatory on every row. QuickBooks Online's tax code
            # is only written on the tax lines.
            if line.kind == "tax" or system == AccountingSystem.XERO:
                keys.append(("tax", line.treatment))
            for needed_key in keys:
                numbers = needed[needed_key]
                if not numbers or numbers[-1] != journal.number:
                    numbers.append(journal.number)
    missing = []
    for (kind, key), numbers in sorted(needed.items()):
        if kind == "account" and key not in accounts:
            name = account_names.get(key)
            text = f"GL account {key} ({name})" if name else f"GL account {key!r}"
            missing.append(MissingMapping(kind, key, system, text, numbers))
        elif kind == "tax" and key not in treatments:
            missing.append(MissingMapping(kind, key, system, describe_treatment(key), numbers))
    return missing


def require_mappings(journals: list[Journal], system: str) -> None:
    missing = missing_mappings(journals, system)
    if missing:
        raise MappingsMissing(missing, system)


def quickbooks_csv(journals: list[Journal]) -> str:
    """Return the journals in QuickBooks Online's journal entries import layout."""
    accounts, taxes = _targets(AccountingSystem.QUICKBOOKS)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(QUICKBOOKS_HEADER)
    for journal in journals:
        decimals = minor_units(journal.currency)
        for line in journal.lines:
            writer.writerow(
                [
                    journal.number,
                    _us_date(journal.issue_date_text),
                    accounts[line.account],
                    _amount(line.debit, decimals),
                    _amount(line.credit, decimals),
                    line.description,
                    # QuickBooks Online requires the customer on accounts receivable lines.
                    journal.customer if line.kind == "receivable" else "",
                    journal.currency,
                    "",
                    "",
                    taxes[line.treatment] if line.kind == "tax" else "",
                ]
            )
    return out.getvalue()


def xero_csv(journals: list[Journal]) -> str:
    """Return the journals in Xero's manual journals import layout."""
    accounts, taxes = _targets(AccountingSystem.XERO)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(XERO_HEADER)
    for journal in journals:
        decimals = minor_units(journal.currency)
        narration = f"{journal.label} {journal.customer}".strip()
        for line in journal.lines:
            amount = line.debit - line.credit
            writer.writerow(
                [
                    narration,
                    _day_first_date(journal.issue_date_text),
                    line.description,
                    accounts[line.account],
                    taxes[line.treatment],
                    f"{amount:.{decimals}f}",
                    "",
                    "",
                    "",
                    "",
                ]
            )
    return out.getvalue()


def split_journals(journals: list[Journal], max_lines: int) -> list[list[Journal]]:
    """Group ``journals`` in order into parts of at most ``max_lines`` lines, never splitting
    a journal. Raises InvalidInput when one journal alone has more lines."""
    parts: list[list[Journal]] = [[]]
    lines = 0
    for journal in journals:
        size = len(journal.lines)
        if size > max_lines:
            raise InvalidInput(
                f"the journal of {journal.label} has {size} lines, more than {max_lines}.",
                place="--max-lines",
                value=max_lines,
                fix=f"Give --max-lines {size} or more.",
            )
        if lines + size > max_lines:
            parts.append([])
            lines = 0
        parts[-1].append(journal)
        lines += size
    return parts


def _journal(invoice: Invoice, account_names: dict[str, str]) -> Journal:
    credit_note = invoice.document_type == Invoice.DocumentType.CREDIT_NOTE
    label = "credit note" if credit_note else "invoice"
    title = f"{label} {invoice.number}"
    if invoice.credited_invoice is not None:
        title += f" for {invoice.credited_invoice.number}"

    lines = _journal_lines(invoice, title, account_names)

    debits = sum((line.debit for line in lines), Decimal(0))
    credits = sum((line.credit for line in lines), Decimal(0))
    if debits != credits:
        raise RuleViolation(
            f"the journal of {label} {invoice.number} does not balance: debits {debits}, "
            f"credits {credits} {invoice.currency}.",
            place=f"{label} {invoice.number}",
            value=str(debits - credits),
            fix="Its stored lines, VAT breakdown and payable amount disagree. Credit it with "
            f"`billguard credit {invoice.number} --reason TEXT` and invoice again.",
        )

    buyer = (invoice.parties or {}).get("buyer", {})
    return Journal(
        number=invoice.number or "",
        document_type=invoice.document_type,
        issue_date_text=invoice.issue_date.isoformat() if invoice.issue_date else "",
        currency=invoice.currency,
        customer=buyer.get("name", ""),
        seller=invoice.seller_entity.code,
        lines=lines,
    )


def _journal_lines(
    invoice: Invoice, title: str, account_names: dict[str, str]
) -> list[JournalLine]:
    """Return the invoice's postings rounded to minor units, with their tax treatments."""
    quantum = Decimal(1).scaleb(-minor_units(invoice.currency))
    jurisdiction = invoice.contract_version.tax_jurisdiction if invoice.contract_version else ""
    lines = []
    for posting in journal_postings(invoice):
        debit = posting.debit.quantize(quantum)
        credit = posting.credit.quantize(quantum)
        if not debit and not credit:
            continue  # a 0 % VAT line posts nothing

        if posting.kind == "tax":
            treatment = treatment_key(posting.tax_category, posting.tax_rate, jurisdiction)
            what = describe_treatment(treatment)
        elif posting.kind == "receivable":
            treatment = UNTAXED
            what = "receivable"
        else:
            treatment = UNTAXED
            what = account_names.get(posting.account, posting.account)
        lines.append(
            JournalLine(posting.kind, posting.account, debit, credit, treatment, f"{title}: {what}")
        )
    return lines


def _targets(system: str) -> tuple[dict[str, str], dict[str, str]]:
    accounts = dict(
        AccountMapping.objects.filter(system=system).values_list("gl_account", "target")
    )
    taxes = dict(TaxMapping.objects.filter(system=system).values_list("treatment", "target"))
    return accounts, taxes


def _amount(value: Decimal, decimals: int) -> str:
    return f"{value:.{decimals}f}" if value else ""


def _us_date(iso: str) -> str:
    year, month, day = iso.split("-")
    return f"{month}/{day}/{year}"


def _day_first_date(iso: str) -> str:
    year, month, day = iso.split("-")
    return f"{day}/{month}/{year}"
