"""Import the invoices, credit notes and payments that QuickBooks Online or Xero exported.

An import is all or nothing: every row of every file is parsed and validated first, and one
problem anywhere means nothing is written and every problem is reported at once. It is
idempotent: documents are keyed by source and external id (the invoice number, the credit
note number prefixed with ``credit-note/``, the payment's id), a document whose content and
resolution are unchanged is skipped, and a changed one is replaced. A dry run does all of it
in a transaction that is rolled back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from billguard.controls.roles import authorize
from billguard.domain.errors import BillguardError, InvalidInput
from billguard.history.layouts import (
    CREDIT_NOTES,
    DEFAULT_DATE_ORDER,
    INVOICES,
    PAYMENTS,
    SYSTEMS,
    layout_for,
)
from billguard.history.models import (
    HistoryImport,
    ImportedInvoice,
    ImportedPayment,
    ImportedPaymentAllocation,
)
from billguard.history.parsing import (
    ParsedDocument,
    ParsedPayment,
    parse_documents,
    parse_payments,
)
from billguard.history.reading import sheet_open
from billguard.history.resolution import Registry, Resolution, reference_tokens
from billguard.history.storage import documents_write

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

CREDIT_NOTE_PREFIX = "credit-note/"
# Called with (step name, rows done, rows in all); the CLI draws its progress bar with it.
Progress = Callable[[str, int, int], None]


class HistoryImportInvalid(InvalidInput):
    """The files have invalid values; ``problems`` lists every one. Nothing was written."""

    code = "HISTORY_IMPORT_INVALID"

    def __init__(self, problems: list[BillguardError]) -> None:
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(
            f"{len(problems)} problem(s), nothing was imported:\n{lines}",
            value=problems[0].value,
            fix="Correct each value listed (or export the files again), then import again.",
        )
        self.problems = problems

    def __str__(self) -> str:
        return f"{self.message}\n{self.fix}"


@dataclass
class Unresolved:
    """A document whose customer, contract or lines could not be matched to the registry."""

    number: str
    customer: str
    issue: str


@dataclass
class KindCounts:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    lines: int = 0


@dataclass
class ImportOutcome:
    source: str
    dry_run: bool
    invoices: KindCounts = field(default_factory=KindCounts)
    credit_notes: KindCounts = field(default_factory=KindCounts)
    payments: KindCounts = field(default_factory=KindCounts)
    allocations: int = 0
    credit_notes_linked: int = 0
    lines_without_contract_line: int = 0
    unresolved_customers: list[Unresolved] = field(default_factory=list)
    unresolved_contracts: list[Unresolved] = field(default_factory=list)
    import_id: int | None = None

    @property
    def changed(self) -> bool:
        return any(
            counts.created or counts.updated
            for counts in (self.invoices, self.credit_notes, self.payments)
        )


@dataclass
class _Prepared:
    headers: list[tuple[Any, ...]] = field(default_factory=list)
    lines: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    credited: dict[str, str] = field(default_factory=dict)


def history_import(
    *,
    system: str,
    invoices: Path | None = None,
    credit_notes: Path | None = None,
    payments: Path | None = None,
    dry_run: bool = False,
    date_order: str | None = None,
    default_currency: str | None = None,
    by: User | None,
    progress: Progress | None = None,
) -> ImportOutcome:
    """Import the files exported by ``system`` (quickbooks or xero), all or nothing.

    Raises HistoryImportInvalid listing every problem of every file; InvalidInput when a
    file cannot be read or no file is given. ``by`` may be None only for a dry run.
    """
    if system not in SYSTEMS:
        raise InvalidInput(
            f"{system!r} is not a supported accounting system.",
            place="system",
            value=system,
            fix=f"Use one of: {', '.join(SYSTEMS)}.",
        )
    if by is not None:
        authorize(by, "history_import")
    elif not dry_run:
        raise InvalidInput(
            "an import that writes needs the acting user.",
            place="user",
            fix="Give --user NAME, or run with --dry-run.",
        )
    files = {INVOICES: invoices, CREDIT_NOTES: credit_notes, PAYMENTS: payments}
    if not any(files.values()):
        raise InvalidInput(
            "no file to import.",
            place="files",
            fix="Give --invoices, --credit-notes or --payments (or several).",
        )
    for kind, path in files.items():
        if path is not None and not path.is_file():
            raise InvalidInput(
                f"{path} does not exist or is not a file.",
                place=f"--{kind.replace('_', '-')}",
                value=str(path),
                fix="Check the file name and folder.",
            )
    order = date_order or DEFAULT_DATE_ORDER[system]
    currency = default_currency.upper() if default_currency else None
    report = progress or (lambda step, done, total: None)

    problems: list[BillguardError] = []
    parsed_payments: dict[str, ParsedPayment] = {}
    if payments is not None:
        parsed_payments = parse_payments(
            sheet_open(payments), layout_for(system, PAYMENTS), date_order=order,
            default_currency=currency, problems_out=problems,
        )  # fmt: skip

    outcome = ImportOutcome(source=system, dry_run=dry_run)
    now = timezone.now()
    with ThreadPoolExecutor(max_workers=1) as hashing, transaction.atomic():
        # The files are hashed while they are imported: hashlib releases the GIL.
        digests = {
            kind: hashing.submit(_sha256, path) for kind, path in files.items() if path is not None
        }
        registry = _RegistryOnce()
        batch = HistoryImport.objects.create(
            source=system,
            started_at=now,
            user=by.get_username() if by is not None else "",
            files={kind: {"name": path.name} for kind, path in files.items() if path is not None},
        )
        for kind in (INVOICES, CREDIT_NOTES):
            path = files[kind]
            if path is None:
                continue
            context = _DocumentContext(system, kind, registry, batch, now, outcome, report)
            if not problems and _import_fast(context, path, order, currency):
                continue
            documents = parse_documents(
                sheet_open(path), layout_for(system, kind), date_order=order,
                default_currency=currency, problems_out=problems,
            )  # fmt: skip
            if not problems:
                _import_documents(context, documents)
        if problems:
            raise HistoryImportInvalid(problems)
        if parsed_payments:
            _import_payments(
                system, parsed_payments, registry(), batch, now, outcome, problems,
                payments.name if payments else "",
            )  # fmt: skip
            if problems:
                raise HistoryImportInvalid(problems)
        batch.counts = _counts(outcome)
        for kind, digest in digests.items():
            batch.files[kind]["sha256"] = digest.result()
        if outcome.changed:
            batch.save(update_fields=["counts", "files"])
            outcome.import_id = batch.pk
            if by is not None:
                _audit(by, batch)
        else:
            # A second import of the same files writes nothing, not even its own record.
            batch.delete()
        if dry_run:
            outcome.import_id = None
            transaction.set_rollback(True)
    logger.info(
        "history import from %s: %s%s",
        system,
        batch.counts,
        " (dry run, rolled back)" if dry_run else "",
    )
    return outcome


class _RegistryOnce:
    """The registry, read from the database the first time it is needed: the DuckDB path
    reads its file meanwhile."""

    def __init__(self) -> None:
        self._registry: Registry | None = None

    def __call__(self) -> Registry:
        if self._registry is None:
            self._registry = Registry()
        return self._registry


@dataclass
class _DocumentContext:
    system: str
    kind: str
    registry_once: _RegistryOnce
    batch: HistoryImport
    now: dt.datetime
    outcome: ImportOutcome
    report: Progress

    @property
    def registry(self) -> Registry:
        return self.registry_once()

    @property
    def prefix(self) -> str:
        return CREDIT_NOTE_PREFIX if self.kind == CREDIT_NOTES else ""

    @property
    def counts(self) -> KindCounts:
        return self.outcome.invoices if self.kind == INVOICES else self.outcome.credit_notes

    def stored_digests(self) -> dict[str, str]:
        """Return the digest of each stored document of this kind, by external id."""
        stored = ImportedInvoice.objects.filter(source=self.system)
        if self.prefix:
            stored = stored.filter(external_id__startswith=self.prefix)
        else:
            stored = stored.exclude(external_id__startswith=CREDIT_NOTE_PREFIX)
        return dict(stored.values_list("external_id", "content_sha256"))

    def invoice_terms(self) -> dict[str, tuple[int | None, int | None, int | None]]:
        # Party, bill-to and contract of each stored invoice, by number, for credit notes.
        return _invoice_terms(self.system) if self.kind == CREDIT_NOTES else {}


def _import_fast(context: _DocumentContext, path: Path, order: str, currency: str | None) -> bool:
    import duckdb

    from billguard.history.fast_import import documents_import_fast, fast_path_applies

    if not fast_path_applies(path):
        return False
    outcome = context.outcome
    before = (
        len(outcome.unresolved_customers),
        len(outcome.unresolved_contracts),
        outcome.credit_notes_linked,
        outcome.lines_without_contract_line,
    )
    try:
        with transaction.atomic():
            # A savepoint, so that a fast path that gives up leaves nothing behind.
            done = documents_import_fast(
                path=path,
                layout=layout_for(context.system, context.kind),
                date_order=order,
                default_currency=currency,
                registry_load=context.registry_once,
                invoice_terms=context.invoice_terms(),
                stored=context.stored_digests(),
                prefix=context.prefix,
                counts=context.counts,
                outcome=outcome,
                write={
                    "source": context.system,
                    "import_id": context.batch.pk,
                    "imported_at": context.now,
                },
            )
    except duckdb.Error as error:
        # Such as a row with more cells than the header, which the row-by-row parser accepts.
        logger.warning("DuckDB could not read %s (%s); reading it row by row", path.name, error)
        done = False
    if done:
        context.report("imported", context.counts.lines, context.counts.lines)
        return True
    # What the fast path counted before it gave up is counted again by the row-by-row path.
    if context.kind == INVOICES:
        outcome.invoices = KindCounts()
    else:
        outcome.credit_notes = KindCounts()
    del outcome.unresolved_customers[before[0] :]
    del outcome.unresolved_contracts[before[1] :]
    outcome.credit_notes_linked, outcome.lines_without_contract_line = before[2], before[3]
    return False


def _import_documents(context: _DocumentContext, documents: dict[str, ParsedDocument]) -> None:
    system, outcome, report, registry = (
        context.system,
        context.outcome,
        context.report,
        context.registry,
    )
    counts = context.counts
    prefix = context.prefix
    invoice_terms = context.invoice_terms()
    stored = context.stored_digests()
    prepared = _Prepared()
    total_lines = sum(len(d.lines) for d in documents.values())
    done = 0
    for document in documents.values():
        counts.read += 1
        counts.lines += len(document.lines)
        external_id = prefix + document.number
        header, lines, credited = _prepare(document, registry, invoice_terms, outcome)
        digest = hashlib.sha256(document.raw_digest() + repr((header, lines)).encode()).hexdigest()
        done += len(document.lines)
        if done % 50_000 < len(document.lines):
            report("resolving", done, total_lines)
        if credited:
            outcome.credit_notes_linked += 1
        if stored.get(external_id) == digest:
            counts.unchanged += 1
            continue
        if external_id in stored:
            counts.updated += 1
        else:
            counts.created += 1
        prepared.headers.append((external_id, *header, digest))
        prepared.lines[external_id] = lines
        if credited:
            prepared.credited[external_id] = credited
    report("resolving", total_lines, total_lines)
    if prepared.headers:
        documents_write(
            source=system,
            import_id=context.batch.pk,
            imported_at=context.now,
            headers=prepared.headers,
            lines=prepared.lines,
            credited=prepared.credited,
        )


def _prepare(
    document: ParsedDocument,
    registry: Registry,
    invoice_terms: dict[str, tuple[int | None, int | None, int | None]],
    outcome: ImportOutcome,
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], str]:
    """Resolve ``document`` and return its header (HEADER_COLUMNS without the external id and
    digest), its line rows and the external id of the invoice it credits ("" for none)."""
    resolution, credited = resolve_document(
        document, registry.resolve(document), registry, invoice_terms, outcome
    )
    contract = resolution.contract
    lines = []
    for position, line in enumerate(document.lines, start=1):
        line_code, start, end = registry.line_and_period(contract, line, document.issue_date)
        if not line_code:
            outcome.lines_without_contract_line += 1
        lines.append(
            (
                position,
                line[1][:80],
                line_code,
                line[2][:400],
                line[3],
                line[4],
                line[5],
                line[6][:40],
                _tax_rate(line[6]),
                line[7],
                line[8],
                line[9][:40],
                start,
                end,
            )
        )
    return document_header(document, resolution), lines, credited


def resolve_document(
    document: ParsedDocument,
    resolution: Resolution,
    registry: Registry,
    invoice_terms: dict[str, tuple[int | None, int | None, int | None]],
    outcome: ImportOutcome,
) -> tuple[Resolution, str]:
    """Complete ``resolution`` for a credit note from the invoice it credits, and report what
    stays unresolved. Returns the resolution and the credited invoice number ("" for none)."""
    credited = ""
    if document.kind == "credit_note":
        credited = next(
            (token for token in reference_tokens(document.reference) if token in invoice_terms),
            "",
        )
    if credited and resolution.contract is None:
        # A credit note without a contract of its own takes the one of the invoice it credits.
        party_id, bill_to_id, contract_id = invoice_terms[credited]
        if contract_id is not None and party_id in (resolution.party_id, None):
            resolution.contract = registry.contracts_by_id.get(contract_id)
            resolution.party_id = party_id
            resolution.bill_to_id = resolution.bill_to_id or bill_to_id
            resolution.customer_issue = ""
    if resolution.customer_issue:
        outcome.unresolved_customers.append(
            Unresolved(document.number, document.customer, resolution.customer_issue)
        )
    elif resolution.contract is None:
        outcome.unresolved_contracts.append(
            Unresolved(document.number, document.customer, resolution.contract_issue)
        )
    return resolution, credited


def document_header(document: ParsedDocument, resolution: Resolution) -> tuple[Any, ...]:
    """Return the stored fields of ``document`` in HEADER_COLUMNS order, less the external id
    and the digest."""
    contract = resolution.contract
    return (
        ImportedInvoice.DocumentType.CREDIT_NOTE
        if document.kind == "credit_note"
        else ImportedInvoice.DocumentType.INVOICE,
        document.number[:60],
        document.customer[:200],
        resolution.party_id,
        resolution.bill_to_id,
        contract.id if contract else None,
        document.issue_date,
        document.due_date,
        document.currency,
        document.line_extension,
        document.tax_total,
        document.total,
        document.balance,
        document.reference[:400],
    )


_RATE_CACHE: dict[str, Decimal | None] = {}
_RATE_IN_CODE = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def _tax_rate(tax_code: str) -> Decimal | None:
    """Read the rate from a tax code that names one, such as Xero's "20% (VAT on Income)"."""
    if tax_code not in _RATE_CACHE:
        match = _RATE_IN_CODE.search(tax_code)
        _RATE_CACHE[tax_code] = Decimal(match[1]) if match else None
    return _RATE_CACHE[tax_code]


def _import_payments(
    system: str,
    payments: dict[str, ParsedPayment],
    registry: Registry,
    batch: HistoryImport,
    now: dt.datetime,
    outcome: ImportOutcome,
    problems: list[BillguardError],
    file_name: str,
) -> None:
    invoices = {
        external_id: (pk, currency, customer, party_id)
        for external_id, pk, currency, customer, party_id in ImportedInvoice.objects.filter(
            source=system
        ).values_list("external_id", "id", "currency", "customer_name", "party_id")
    }
    stored = dict(
        ImportedPayment.objects.filter(source=system).values_list("external_id", "content_sha256")
    )
    for payment in payments.values():
        outcome.payments.read += 1
        allocations = []
        currency, customer, party_id = payment.currency, payment.customer, None
        for row, number, amount in payment.allocations:
            if not number:
                continue
            found = invoices.get(number)
            if found is None:
                problems.append(
                    InvalidInput(
                        f"payment {payment.payment_id} names invoice {number}, which is neither "
                        "in this import nor imported before.",
                        place=f"{file_name}, row {row}",
                        value=number,
                        fix="Import the invoice first, or give its file with --invoices.",
                    )
                )
                continue
            allocations.append((found[0], amount))
            currency = currency or found[1]
            customer = customer or found[2]
            party_id = party_id or found[3]
        if party_id is None and customer:
            party_id = registry.resolve_customer(customer).party_id
        if not currency:
            problems.append(
                InvalidInput(
                    f"payment {payment.payment_id} has no currency and applies to no invoice.",
                    place=f"{file_name}, row {payment.first_row}",
                    value=payment.payment_id,
                    fix="Add a Currency column, or give the home currency with --currency.",
                )
            )
            continue
        outcome.allocations += len(allocations)
        values = {
            "customer_name": customer[:200],
            "party_id": party_id,
            "received_on": payment.received_on,
            "currency": currency,
            "amount": payment.amount,
            "reference": payment.reference[:120],
        }
        digest = hashlib.sha256(
            ("\x1e".join(payment.raw_rows) + repr((values, allocations))).encode()
        ).hexdigest()
        if stored.get(payment.payment_id) == digest:
            outcome.payments.unchanged += 1
            continue
        record, created = ImportedPayment.objects.update_or_create(
            source=system,
            external_id=payment.payment_id,
            defaults={
                **values,
                "imported_at": now,
                "content_sha256": digest,
                "history_import": batch,
            },
        )
        if created:
            outcome.payments.created += 1
        else:
            outcome.payments.updated += 1
            record.allocations.all().delete()
        ImportedPaymentAllocation.objects.bulk_create(
            ImportedPaymentAllocation(payment=record, invoice_id=invoice_id, amount=amount)
            for invoice_id, amount in allocations
        )


def _invoice_terms(system: str) -> dict[str, tuple[int | None, int | None, int | None]]:
    invoices = ImportedInvoice.objects.filter(
        source=system, document_type=ImportedInvoice.DocumentType.INVOICE
    )
    return {
        number: (party_id, bill_to_id, contract_id)
        for number, party_id, bill_to_id, contract_id in invoices.values_list(
            "number", "party_id", "bill_to_id", "contract_id"
        )
    }


def _counts(outcome: ImportOutcome) -> dict[str, dict[str, int]]:
    return {
        name: {
            "read": counts.read,
            "created": counts.created,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
        }
        for name, counts in (
            ("invoices", outcome.invoices),
            ("credit_notes", outcome.credit_notes),
            ("payments", outcome.payments),
        )
    }


def _audit(by: User, batch: HistoryImport) -> None:
    from billguard.controls.services import audit_record

    audit_record(
        actor=by.get_username(),
        action="history_import",
        record=batch,
        before=None,
        after={"source": batch.source, "files": batch.files, "counts": batch.counts},
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
