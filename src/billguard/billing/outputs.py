"""Files written for each issued invoice: UBL 2.1 XML and the journal CSV.

They are written after the issuing transaction commits, under ``<var>/invoices/<seller>/``.
Writing the same invoice again gives identical files, so a crashed writer is safely re-run.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet

from billguard.billing.documents import document_from_invoice
from billguard.billing.models import Invoice
from billguard.einvoice.errors import UblNotSupported
from billguard.einvoice.ubl_writer import write_ubl
from billguard.prefetch import prefetch_children
from billguard.registry.models import BankAccount, GLAccount

logger = logging.getLogger(__name__)

JOURNAL_HEADER = ["date", "invoice_number", "account", "debit", "credit", "tax_code"]
RECEIVABLE_ACCOUNT = "1200"
TAX_ACCOUNT = "2200"


def invoices_root() -> Path:
    return Path(settings.VAR_DIR) / "invoices"


def invoice_write_outputs(invoice: Invoice, *, seller_iban: str | None = None) -> list[Path]:
    """Write the UBL file (where EN 16931 allows the currency) and the journal of ``invoice``.

    ``seller_iban`` is the seller's primary account as ``seller_ibans`` returns it, for a
    caller that writes many invoices; None reads it here.
    """
    folder = invoices_root() / invoice.seller_entity.code
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    document = document_from_invoice(invoice)
    if seller_iban is None:
        seller_iban = seller_ibans([invoice.seller_entity_id]).get(invoice.seller_entity_id, "")
    try:
        xml = write_ubl(document, seller_bank_account=seller_iban)
    except UblNotSupported as error:
        logger.warning("no UBL for invoice %s: %s", invoice.number, error)
    else:
        path = folder / f"{invoice.number}.xml"
        _write_atomically(path, xml)
        written.append(path)
    journal = folder / f"{invoice.number}.journal.csv"
    _write_atomically(journal, journal_csv(invoice).encode())
    written.append(journal)
    return written


def invoices_for_outputs(queryset: QuerySet[Invoice]) -> list[Invoice]:
    """Load the invoices of ``queryset`` with every record ``invoice_write_outputs`` reads:
    seller entity, contract, credited invoice, terms document, lines and VAT breakdown."""
    invoices = list(
        queryset.select_related("seller_entity", "contract", "credited_invoice", "terms_document")
    )
    prefetch_children(invoices, "lines")
    prefetch_children(invoices, "tax_subtotals")
    return invoices


def seller_ibans(seller_entity_ids: Iterable[int]) -> dict[int, str]:
    """Return the IBAN of each seller entity's primary bank account, the first by id.

    A seller entity without a primary account is left out.
    """
    ibans: dict[int, str] = {}
    accounts = BankAccount.objects.filter(
        seller_entity_id__in=set(seller_entity_ids), is_primary=True
    ).order_by("pk")
    for seller_entity_id, iban in accounts.values_list("seller_entity_id", "iban"):
        ibans.setdefault(seller_entity_id, iban)
    return ibans


@dataclass(frozen=True)
class JournalPosting:
    """One line of an invoice's journal, amounts as stored (3 decimals).

    ``tax_category`` and ``tax_rate`` are set on the tax lines only; ``tax_code`` joins them
    as the plain journal CSV shows them (``S19``).
    """

    kind: str  # receivable, revenue or tax
    account: str
    debit: Decimal
    credit: Decimal
    tax_category: str = ""
    tax_rate: Decimal | None = None

    @property
    def tax_code(self) -> str:
        if not self.tax_category:
            return ""
        rate = f"{self.tax_rate.normalize():f}" if self.tax_rate is not None else ""
        return f"{self.tax_category}{rate}"


def journal_postings(invoice: Invoice) -> list[JournalPosting]:
    """Return the journal of an issued invoice: debit the receivable, credit revenue per GL
    account and tax per VAT breakdown line.

    A credit note posts the same lines with debit and credit swapped.
    """
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for line in invoice.lines.all():
        revenue[line.gl_account] += line.net_amount
    zero = Decimal(0)
    postings = [JournalPosting("receivable", RECEIVABLE_ACCOUNT, invoice.payable, zero)]
    for account in sorted(revenue):
        postings.append(JournalPosting("revenue", account, zero, revenue[account]))
    for subtotal in invoice.tax_subtotals.all():
        postings.append(
            JournalPosting(
                "tax", TAX_ACCOUNT, zero, subtotal.tax_amount, subtotal.category, subtotal.rate
            )
        )
    if invoice.document_type == Invoice.DocumentType.CREDIT_NOTE:
        postings = [replace(p, debit=p.credit, credit=p.debit) for p in postings]
    return postings


def journal_csv(invoice: Invoice) -> str:
    """Journal lines of an issued invoice as :func:`journal_postings` returns them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(JOURNAL_HEADER)
    for posting in journal_postings(invoice):
        writer.writerow(
            [
                invoice.issue_date.isoformat() if invoice.issue_date else "",
                invoice.number,
                posting.account,
                f"{posting.debit:.2f}" if posting.debit else "",
                f"{posting.credit:.2f}" if posting.credit else "",
                posting.tax_code,
            ]
        )
    return out.getvalue()


def ensure_journal_accounts() -> None:
    """Create the receivable and tax accounts the journal posts to, if the chart lacks them."""
    for code, name, kind in (
        (RECEIVABLE_ACCOUNT, "Trade receivables", GLAccount.Kind.RECEIVABLE),
        (TAX_ACCOUNT, "VAT and sales tax payable", GLAccount.Kind.TAX),
    ):
        GLAccount.objects.get_or_create(code=code, defaults={"name": name, "kind": kind})


def _write_atomically(path: Path, content: bytes) -> None:
    temporary = path.with_suffix(path.suffix + ".part")
    temporary.write_bytes(content)
    temporary.replace(path)
