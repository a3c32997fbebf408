"""Reads for the contract page: versions, the terms diff of two versions, documents, invoices.

Every read is a fixed number of queries whatever the size of the contract's history, and
the invoices of a contract are counted in SQL, with only the latest few of each version
loaded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Max, Min, Q, Sum, Window
from django.db.models.functions import RowNumber

from billguard.billing.models import Invoice
from billguard.registry.models import Amendment, Contract, ContractLine, ContractVersion, Document

# How many invoices of each version the page lists; the invoice list has the rest.
INVOICES_PER_VERSION = 5


@dataclass(frozen=True)
class TermChange:
    """One term that differs between two versions."""

    label: str
    before: str
    after: str


@dataclass
class LineDiff:
    """The lines of version B against version A, by line code."""

    added: list[ContractLine] = field(default_factory=list)
    removed: list[ContractLine] = field(default_factory=list)
    # (line code, changed fields as TermChange)
    changed: list[tuple[str, list[TermChange]]] = field(default_factory=list)


@dataclass
class VersionDiff:
    a: ContractVersion
    b: ContractVersion
    terms: list[TermChange]
    lines: LineDiff
    discounts_removed: list[str]
    discounts_added: list[str]
    price_changes_removed: list[str]
    price_changes_added: list[str]

    @property
    def is_empty(self) -> bool:
        return not (
            self.terms
            or self.lines.added
            or self.lines.removed
            or self.lines.changed
            or self.discounts_removed
            or self.discounts_added
            or self.price_changes_removed
            or self.price_changes_added
        )


def contract_versions(contract: Contract) -> list[ContractVersion]:
    """Return the versions, oldest first, with what the page and the diff show of each."""
    return list(
        ContractVersion.objects.filter(contract=contract)
        .select_related(
            "bill_to",
            "price_list",
            "sow_document",
            "amendment__document",
            "change_request__requested_by",
        )
        .prefetch_related(
            "lines", "discounts", "price_changes", "change_request__approvals__approver"
        )
        .order_by("version_number")
    )


def version_diff(a: ContractVersion, b: ContractVersion) -> VersionDiff:
    """Compare the terms of version ``a`` with those of version ``b`` (both prefetched)."""
    terms = [
        TermChange(label, _shown(read(a)), _shown(read(b)))
        for label, read in VERSION_TERMS
        if _shown(read(a)) != _shown(read(b))
    ]
    return VersionDiff(
        a=a,
        b=b,
        terms=terms,
        lines=_line_diff(list(a.lines.all()), list(b.lines.all())),
        discounts_removed=_texts(a.discounts.all(), _discount_text, b.discounts.all()),
        discounts_added=_texts(b.discounts.all(), _discount_text, a.discounts.all()),
        price_changes_removed=_texts(
            a.price_changes.all(), _price_change_text, b.price_changes.all()
        ),
        price_changes_added=_texts(
            b.price_changes.all(), _price_change_text, a.price_changes.all()
        ),
    )


def contract_documents(
    versions: Iterable[ContractVersion], amendments: Iterable[Amendment]
) -> list[Document]:
    """Return every revision of the documents the versions and amendments cite, by family.

    A family (SOW-C-1001) lists all its revisions, newest first, so a revision stored after
    the version that cites an older one is visible too.
    """
    cited = [v.sow_document for v in versions if v.sow_document is not None]
    cited += [a.document for a in amendments if a.document is not None]
    families = {d.family for d in cited}
    if not families:
        return []
    return list(Document.objects.filter(family__in=families).order_by("family", "-revision"))


def contract_document_ids(contract: Contract) -> set[int]:
    """Return the ids of the documents the contract's versions and amendments cite."""
    ids = set(
        ContractVersion.objects.filter(contract=contract, sow_document__isnull=False).values_list(
            "sow_document_id", flat=True
        )
    )
    ids |= set(
        Amendment.objects.filter(contract=contract, document__isnull=False).values_list(
            "document_id", flat=True
        )
    )
    families = Document.objects.filter(pk__in=ids).values_list("family", flat=True)
    return set(Document.objects.filter(family__in=list(families)).values_list("pk", flat=True))


@dataclass
class VersionInvoices:
    """The invoices issued under one version: counts and totals, and the latest few."""

    count: int = 0
    issued: int = 0
    # Payable of the issued invoices, and of the issued credit notes, per currency.
    invoiced: dict[str, Decimal] = field(default_factory=dict)
    credited: dict[str, Decimal] = field(default_factory=dict)
    first_period: Any = None
    last_period: Any = None
    latest: list[Invoice] = field(default_factory=list)


def invoices_by_version(contract: Contract) -> dict[int | None, VersionInvoices]:
    """Return the invoices of ``contract`` by version id, in two queries."""
    result: dict[int | None, VersionInvoices] = defaultdict(VersionInvoices)
    rows = (
        Invoice.objects.filter(contract=contract)
        .values("contract_version_id", "currency")
        .annotate(
            count=Count("id"),
            issued=Count("id", filter=Q(status=Invoice.Status.ISSUED)),
            invoiced=Sum(
                "payable",
                filter=Q(status=Invoice.Status.ISSUED, document_type=Invoice.DocumentType.INVOICE),
            ),
            credited=Sum(
                "payable",
                filter=Q(
                    status=Invoice.Status.ISSUED, document_type=Invoice.DocumentType.CREDIT_NOTE
                ),
            ),
            first_period=Min("period_start"),
            last_period=Max("period_start"),
        )
        .order_by()
    )
    for row in rows:
        entry = result[row["contract_version_id"]]
        entry.count += row["count"]
        entry.issued += row["issued"]
        currency = row["currency"]
        for name in ("invoiced", "credited"):
            if row[name] is not None:
                totals = getattr(entry, name)
                totals[currency] = totals.get(currency, Decimal(0)) + row[name]
        for name, pick in (("first_period", min), ("last_period", max)):
            value, current = row[name], getattr(entry, name)
            if value is not None:
                setattr(entry, name, value if current is None else pick(value, current))

    latest = (
        Invoice.objects.filter(contract=contract)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("contract_version_id")],
                order_by=[F("period_start").desc(nulls_last=True), F("id").desc()],
            )
        )
        .filter(rank__lte=INVOICES_PER_VERSION)
        .order_by("contract_version_id", "rank")
        .only(
            "id",
            "number",
            "status",
            "document_type",
            "currency",
            "payable",
            "period_start",
            "period_end",
            "issue_date",
            "contract_version_id",
        )
    )
    for invoice in latest:
        result[invoice.contract_version_id].latest.append(invoice)
    return dict(result)


def _line_diff(a_lines: list[ContractLine], b_lines: list[ContractLine]) -> LineDiff:
    old = {line.line_code: line for line in a_lines}
    new = {line.line_code: line for line in b_lines}
    diff = LineDiff(
        added=[new[code] for code in sorted(new.keys() - old.keys())],
        removed=[old[code] for code in sorted(old.keys() - new.keys())],
    )
    for code in sorted(old.keys() & new.keys()):
        changes = [
            TermChange(label, _shown(getattr(old[code], name)), _shown(getattr(new[code], name)))
            for name, label in LINE_FIELDS
            if _shown(getattr(old[code], name)) != _shown(getattr(new[code], name))
        ]
        if changes:
            diff.changed.append((code, changes))
    return diff


def _texts(
    items: Iterable[Any], describe: Callable[[Any], str], others: Iterable[Any]
) -> list[str]:
    """Return the descriptions of ``items`` that none of ``others`` has."""
    other_texts = {describe(item) for item in others}
    return sorted({describe(item) for item in items} - other_texts)


def _discount_text(discount: Any) -> str:
    text = f"{_shown(discount.percent)} %"
    text += f" on line {discount.line_code}" if discount.line_code else " on every line"
    if discount.expires_on:
        text += f" until {discount.expires_on:%Y-%m-%d}"
    if discount.approval_reference:
        text += f" (ref. {discount.approval_reference})"
    return text


def _price_change_text(change: Any) -> str:
    if change.kind == "index":
        what = f"index-linked to {change.index_name} (base {_shown(change.index_base_value)})"
    else:
        what = f"uplift of {_shown(change.uplift_percent)} %"
    return f"line {change.line_code}: {what} on {change.effective_on:%Y-%m-%d}"


def _shown(value: Any) -> str:
    """Return a term as text; a decimal loses its trailing zeros past the cents."""
    if value is None or value == "":
        return "\u2013"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        text = f"{value:f}"
        if "." in text:
            whole, fraction = text.split(".")
            fraction = fraction.rstrip("0").ljust(2, "0")
            return f"{whole}.{fraction}"
        return text
    return str(value)


def _bill_to(version: ContractVersion) -> str:
    bill_to = version.bill_to
    return f"{bill_to.code} {bill_to.name}" if bill_to is not None else ""


def _price_list(version: ContractVersion) -> str:
    price_list = version.price_list
    return f"{price_list.code} {price_list.name}" if price_list is not None else ""


def _sow(version: ContractVersion) -> str:
    document = version.sow_document
    return f"{document.title}, revision {document.revision}" if document is not None else ""


# The version terms the diff compares, in the order finance reads them.
VERSION_TERMS: tuple[tuple[str, Callable[[ContractVersion], Any]], ...] = (
    ("Currency", lambda v: v.currency),
    ("Billing cadence", lambda v: v.cadence),
    ("Billing day", lambda v: v.billing_day),
    ("Payment terms (days)", lambda v: v.payment_terms_days),
    ("Bill-to entity", _bill_to),
    ("Price list", _price_list),
    ("Tax category", lambda v: v.tax_category),
    ("Tax rate (%)", lambda v: v.tax_rate),
    ("Tax jurisdiction", lambda v: v.tax_jurisdiction),
    ("Exemption reason", lambda v: v.exemption_reason),
    ("Customer PO", lambda v: v.customer_po),
    ("PO ceiling", lambda v: v.po_ceiling),
    ("Minimum commitment per period", lambda v: v.minimum_commitment),
    ("End date", lambda v: v.end_date),
    ("Renewal", lambda v: v.get_renewal_terms_display()),
    ("Renewal months", lambda v: v.renewal_months),
    ("Time zone", lambda v: v.timezone),
    ("Statement of work", _sow),
    ("Escalation contact", lambda v: v.escalation_contact),
    ("Discounts approved", lambda v: v.approved_discounts),
    ("Escalation clause", lambda v: v.escalation_clause),
    ("Liquidated damages", lambda v: v.liquidated_damages),
    ("Termination rights", lambda v: v.termination_rights),
)

LINE_FIELDS: tuple[tuple[str, str], ...] = (
    ("kind", "Kind"),
    ("description", "Description"),
    ("product_code", "Product code"),
    ("unit_code", "Unit"),
    ("quantity", "Quantity"),
    ("unit_price", "Unit price"),
    ("gl_account", "GL account"),
    ("tax_category", "Tax category"),
    ("tax_rate", "Tax rate (%)"),
)
