"""November drafts written by the legacy billing system, for guard mode to check.

Two contracts have no billing schedule in Billguard because the legacy system still drafts
their invoices. Its November drafts are files: a UBL invoice for each of the two contracts, and
a CSV draft that names a contract the registry does not know. When that fault is seeded, the
totals of the first UBL invoice do not add up.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

from billguard.billing.drafting import buyer_info, seller_info
from billguard.domain.currencies import minor_units
from billguard.domain.invoice import DocumentType, InvoiceDocument, InvoiceLine
from billguard.domain.rounding import RoundingMode, round_decimal
from billguard.domain.tax import build_totals
from billguard.einvoice.ubl_writer import write_ubl
from billguard.registry.models import Contract, ContractVersion
from billguard.sample import faults
from billguard.sample.calendar import RUN_MONTH
from billguard.sample.plans import Book, CustomerPlan

ISSUE_DATE = RUN_MONTH
SERVICE_END = dt.date(2026, 11, 30)
# The amount due that the legacy system's broken totals add to the correct one.
TOTALS_ERROR = Decimal("100.00")
UNKNOWN_CONTRACT = "C-0417"


def write_external_drafts(directory: Path, book: Book, seeded: set[str]) -> list[Path]:
    """Write the legacy system's November drafts into ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []

    totals_plan = book.carriers("external_totals_inconsistent")[0]
    document = contract_document(totals_plan.number, "LEG-2026-1107")
    if "external_totals_inconsistent" in seeded:
        totals = document.totals
        document.totals = dataclasses.replace(totals, payable=totals.payable + TOTALS_ERROR)
    written.append(_write_ubl(directory / faults.TOTALS_DRAFT_FILE, document, totals_plan.number))

    clean_plan = book.carriers("external_clean")[0]
    clean = contract_document(clean_plan.number, "LEG-2026-1108")
    written.append(_write_ubl(directory / faults.CLEAN_DRAFT_FILE, clean, clean_plan.number))

    path = directory / faults.UNKNOWN_CONTRACT_DRAFT_FILE
    if "external_unknown_contract" in seeded:
        assert book.unknown_buyer is not None
        path.write_text(unknown_contract_csv(book.unknown_buyer), encoding="utf-8")
        written.append(path)
    else:
        # A file left by an earlier generation would seed the fault anyway.
        path.unlink(missing_ok=True)
    return written


def contract_document(contract_number: str, invoice_number: str) -> InvoiceDocument:
    """Build November's invoice of a fixed-fee contract as the legacy system drafts it."""
    contract = Contract.objects.select_related("seller_entity").get(number=contract_number)
    version = (
        ContractVersion.objects.select_related("bill_to")
        .prefetch_related("lines")
        .get(contract=contract, version_number=1)
    )
    decimals = minor_units(version.currency)
    lines = []
    for position, line in enumerate(version.lines.all().order_by("line_code"), start=1):
        assert line.unit_price is not None and line.quantity is not None
        net = round_decimal(line.quantity * line.unit_price, decimals, RoundingMode.HALF_UP)
        lines.append(
            InvoiceLine(
                line_id=str(position),
                description=line.description,
                quantity=line.quantity,
                unit_code=line.unit_code,
                unit_price=line.unit_price.quantize(Decimal("0.01")),
                net_amount=net,
                tax_category=version.tax_category,
                tax_rate=version.tax_rate,
                exemption_reason=version.exemption_reason,
                item_id=line.line_code,
                gl_account=line.gl_account,
                service_start=RUN_MONTH,
                service_end=SERVICE_END,
            )
        )
    subtotals, totals = build_totals(lines, version.currency)
    terms = version.payment_terms_days or 30
    return InvoiceDocument(
        document_type=DocumentType.INVOICE,
        number=invoice_number,
        issue_date=ISSUE_DATE,
        due_date=ISSUE_DATE + dt.timedelta(days=terms),
        currency=version.currency,
        seller=seller_info(contract.seller_entity),
        buyer=buyer_info(version.bill_to),
        lines=lines,
        tax_subtotals=subtotals,
        totals=totals,
        order_reference=version.customer_po,
        contract_reference=contract.number,
        period_start=RUN_MONTH,
        period_end=SERVICE_END,
        payment_terms=f"Net {terms} days",
        source="legacy billing system",
    )


def unknown_contract_csv(buyer: CustomerPlan) -> str:
    """Return a one-line CSV draft whose contract reference the registry does not know."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "invoice_ref",
            "currency",
            "issue_date",
            "seller_name",
            "seller_tax_id",
            "buyer_name",
            "buyer_tax_id",
            "buyer_country",
            "customer_po",
            "contract_ref",
            "period_start",
            "period_end",
            "item_id",
            "description",
            "quantity",
            "unit_price",
            "tax_category",
            "tax_rate",
            "gl_account",
        ]
    )
    writer.writerow(
        [
            "LEG-2026-1109",
            "EUR",
            ISSUE_DATE.isoformat(),
            "Brightline Services GmbH",
            "DE136695976",
            buyer.name,
            buyer.tax_id,
            buyer.country,
            "PO-2019-0417",
            UNKNOWN_CONTRACT,
            RUN_MONTH.isoformat(),
            SERVICE_END.isoformat(),
            "SUPPORT",
            "Premium support, November 2026",
            "1",
            "2400.00",
            "S",
            "19",
            "4000",
        ]
    )
    return out.getvalue()


def _write_ubl(path: Path, document: InvoiceDocument, contract_number: str) -> Path:
    seller = Contract.objects.get(number=contract_number).seller_entity
    account = seller.bank_accounts.filter(is_primary=True).first()
    path.write_bytes(write_ubl(document, seller_bank_account=account.iban if account else ""))
    return path
