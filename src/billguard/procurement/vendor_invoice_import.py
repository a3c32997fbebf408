"""Import vendor invoices from a file: the Billguard CSV layout or a UBL 2.1 invoice.

An import is all or nothing. Every invoice of the file is read and validated first, and one
bad value anywhere means nothing is recorded and every problem is reported. It is also
idempotent: an invoice already imported from a file with the same SHA-256 (same vendor and
normalised number) is skipped, so importing the same file again records nothing new. The
same invoice in a different file is recorded, and the duplicate check then holds it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import transaction

from billguard.checks.modes import check_modes_load
from billguard.controls.roles import authorize
from billguard.domain.errors import BillguardError
from billguard.procurement.models import VendorInvoice
from billguard.procurement.vendor_invoice_files import read_vendor_invoices_csv
from billguard.procurement.vendor_invoice_input import VendorInvoiceInput, VendorInvoiceInvalid
from billguard.procurement.vendor_invoice_ubl import read_vendor_invoice_ubl
from billguard.procurement.vendor_invoice_validation import (
    ValidatedInvoice,
    vendor_invoice_problems,
)
from billguard.procurement.vendor_invoices import vendor_invoice_check, vendor_invoice_store
from billguard.registry.models import Party

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

CSV = "csv"
UBL = "ubl"


@dataclass(frozen=True)
class ImportedInvoice:
    """One invoice of an import: its id (None in a dry run), status and blocking findings."""

    vendor: str
    number: str
    gross_amount: str
    currency: str
    status: str
    blocking_codes: tuple[str, ...] = ()
    invoice_id: int | None = None


@dataclass
class ImportOutcome:
    source: str
    sha256: str
    file_format: str
    dry_run: bool
    recorded: list[ImportedInvoice] = field(default_factory=list)
    # (vendor code, invoice number) of the invoices already imported from this file.
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def already_imported(self) -> bool:
        """Whether the file was imported before, so that this import recorded nothing."""
        return not self.recorded and bool(self.skipped)

    @property
    def held(self) -> list[ImportedInvoice]:
        return [item for item in self.recorded if item.status == VendorInvoice.Status.HELD]


def vendor_invoices_import(
    *, content: bytes, source: str, dry_run: bool = False, by: User | None
) -> ImportOutcome:
    """Record and check every invoice of ``content``, read as UBL 2.1 XML or as CSV.

    ``source`` names the file in messages and on the stored invoices. A dry run validates and
    checks everything in a transaction that is rolled back, so it reports the statuses an
    import would give and writes nothing. Raises VendorInvoiceInvalid listing every problem
    of the file, UnreadableDocument when it is neither UTF-8 CSV nor UBL XML.
    """
    if by is not None:
        authorize(by, "vendor_invoice_record")
    sha256 = hashlib.sha256(content).hexdigest()
    file_format = UBL if content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") else CSV
    entries, problems = _read(content, source, sha256, file_format)
    validated: list[ValidatedInvoice] = []
    for entry in entries:
        checked, entry_problems = vendor_invoice_problems(entry)
        problems.extend(entry_problems)
        if checked is not None:
            validated.append(checked)
    if problems:
        raise VendorInvoiceInvalid(source, problems)

    outcome = ImportOutcome(source=source, sha256=sha256, file_format=file_format, dry_run=dry_run)
    modes = check_modes_load()
    with transaction.atomic():
        new = _not_imported_yet(validated, sha256, outcome)
        for item in new:
            invoice = vendor_invoice_store(item, by=by)
            result = vendor_invoice_check(invoice, by=by, modes=modes)
            outcome.recorded.append(
                ImportedInvoice(
                    vendor=item.vendor.code,
                    number=invoice.number,
                    gross_amount=str(invoice.gross_amount),
                    currency=invoice.currency,
                    status=result.invoice.status,
                    blocking_codes=tuple(result.blocking_codes),
                    invoice_id=None if dry_run else invoice.pk,
                )
            )
        if dry_run:
            transaction.set_rollback(True)
    logger.info(
        "import of %s (%s): %d recorded, %d held, %d already imported%s",
        source,
        sha256[:12],
        len(outcome.recorded),
        len(outcome.held),
        len(outcome.skipped),
        " (dry run, rolled back)" if dry_run else "",
    )
    return outcome


def _not_imported_yet(
    validated: list[ValidatedInvoice], sha256: str, outcome: ImportOutcome
) -> list[ValidatedInvoice]:
    """Return the invoices not imported from this file before, and list the others as skipped.

    The vendors' rows are locked first, so that two imports of one file at the same time
    record its invoices once (PostgreSQL row locks; SQLite has one writer at a time).
    """
    vendor_ids = sorted({item.vendor.pk for item in validated})
    list(Party.objects.select_for_update().filter(pk__in=vendor_ids).values_list("pk"))
    imported = set(
        VendorInvoice.objects.filter(source_sha256=sha256, vendor_id__in=vendor_ids).values_list(
            "vendor_id", "normalized_number"
        )
    )
    new = []
    for item in validated:
        if (item.vendor.pk, item.normalized_number) in imported:
            outcome.skipped.append((item.vendor.code, item.entry.number))
        else:
            new.append(item)
    return new


def _read(
    content: bytes, source: str, sha256: str, file_format: str
) -> tuple[list[VendorInvoiceInput], list[BillguardError]]:
    if file_format == UBL:
        return [read_vendor_invoice_ubl(content, source=source, sha256=sha256)], []
    return read_vendor_invoices_csv(content, source=source, sha256=sha256)
