"""Import a small invoice history for a few sample contracts, to try ``billguard audit leakage``.

Run ``python -m billguard.insights.sample_history`` after ``make demo``. It bills the whole
months of 2026-01 to 2026-10 of the first eight active monthly contracts, priced through
registry.pricing from the contract terms, and seeds one fault of each common kind: a wrong
price, a missed month, a month billed twice, an invoice to another customer's bill-to entity,
a partial credit note and an invoice that matches no contract. Running it again replaces the
rows it wrote before (source ``csv``, external ids starting with ``SAMPLE-``).
"""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from typing import TYPE_CHECKING

from billguard.domain.currencies import minor_units
from billguard.domain.periods import BillingPeriod, Cadence, period_containing
from billguard.domain.rounding import RoundingMode, round_decimal

if TYPE_CHECKING:
    from billguard.history.models import ImportedInvoice
    from billguard.registry.models import Contract, ContractVersion, PriceListItem

# The models load once Django is set up, so ``python -m`` can run this module directly.

PREFIX = "SAMPLE-"
FIRST_MONTH = dt.date(2026, 1, 1)
LAST_DAY = dt.date(2026, 10, 31)
CONTRACTS = 8


def _monthly_contracts() -> list[tuple[Contract, list[ContractVersion]]]:
    from billguard.registry.models import Contract

    found = []
    contracts = Contract.objects.filter(status=Contract.Status.ACTIVE).order_by("number")
    for contract in contracts.prefetch_related("versions__lines", "versions__discounts"):
        versions = sorted(contract.versions.all(), key=lambda v: v.effective_from)
        fixed = [
            line
            for version in versions
            for line in version.lines.all()
            if line.kind == "recurring_fixed" and line.unit_price is not None
        ]
        cadences = {version.cadence for version in versions}
        if fixed and cadences == {"monthly"} and versions[0].effective_from <= FIRST_MONTH:
            found.append((contract, versions))
        if len(found) == CONTRACTS:
            break
    return found


def _months(version: ContractVersion) -> list[BillingPeriod]:
    periods = []
    period = period_containing(FIRST_MONTH, Cadence.MONTHLY, version.billing_day or 1)
    while period.last_day <= LAST_DAY:
        if period.start >= FIRST_MONTH:
            periods.append(period)
        period = period_containing(period.end, Cadence.MONTHLY, version.billing_day or 1)
    return periods


def _lines(
    version: ContractVersion, period: BillingPeriod, items: list[PriceListItem]
) -> list[dict[str, object]]:
    from billguard.registry.pricing import approved_discount, price_on

    rows = []
    for line in version.lines.all():
        if line.kind != "recurring_fixed":
            continue
        price = price_on(version, line, period.start, items).unit_price
        if price is None:
            continue
        quantity = line.quantity if line.quantity is not None else Decimal(1)
        discount = approved_discount(version, line.line_code, period.start)
        percent = discount.percent if discount is not None else Decimal(0)
        net = round_decimal(
            quantity * price * (100 - percent) / 100,
            minor_units(version.currency),
            RoundingMode.HALF_UP,
        )
        rows.append(
            {
                "line_code": line.line_code,
                "description": line.description,
                "quantity": quantity,
                "unit_price": price,
                "net_amount": net,
                "service_start": period.start,
                "service_end": period.last_day,
            }
        )
    return rows


class _Writer:
    def __init__(self) -> None:
        self.count = 0

    def write(
        self,
        contract: Contract | None,
        version: ContractVersion | None,
        issue_date: dt.date,
        lines: list[dict[str, object]],
        *,
        bill_to_id: int | None = None,
        credited: ImportedInvoice | None = None,
    ) -> ImportedInvoice:
        from django.utils import timezone

        from billguard.history.models import ImportedInvoice, ImportedInvoiceLine, Source

        self.count += 1
        total = sum((Decimal(str(row["net_amount"])) for row in lines), Decimal(0))
        invoice = ImportedInvoice.objects.create(
            source=Source.CSV,
            external_id=f"{PREFIX}{self.count}",
            document_type="credit_note" if credited else "invoice",
            number=f"{'CN' if credited else 'INV'}-{self.count:05d}",
            customer_name=contract.party.name if contract else "Cash sale",
            party=contract.party if contract else None,
            bill_to_id=bill_to_id or (version.bill_to_id if version else None),
            contract=contract,
            issue_date=issue_date,
            currency=version.currency if version else "EUR",
            line_extension=total,
            total=total,
            credited_invoice=credited,
            imported_at=timezone.now(),
        )
        for position, row in enumerate(lines, start=1):
            ImportedInvoiceLine.objects.create(invoice=invoice, position=position, **row)
        return invoice


def sample_history_create() -> int:
    """Write the sample history and return the number of invoices and credit notes written."""
    from django.db import transaction

    with transaction.atomic():
        return _write_history()


def _write_history() -> int:
    from billguard.history.models import ImportedInvoice, Source
    from billguard.registry.models import PriceListItem
    from billguard.registry.pricing import version_in_force

    earlier = ImportedInvoice.objects.filter(source=Source.CSV, external_id__startswith=PREFIX)
    # A credit note protects the invoice it credits, so the credit notes go first.
    earlier.filter(credited_invoice__isnull=False).delete()
    earlier.delete()
    items = list(PriceListItem.objects.all())
    chosen = _monthly_contracts()
    writer = _Writer()
    for index, (contract, versions) in enumerate(chosen):
        for month, period in enumerate(_months(versions[0]), start=1):
            version = version_in_force(versions, period.start)
            assert version is not None  # the first version starts on or before 2026-01-01
            lines = _lines(version, period, items)
            if not lines or (index == 1 and month == 5):
                continue  # index 1: May is never invoiced
            if index == 0 and month == 3:
                lines[0] = {**lines[0], "unit_price": lines[0]["unit_price"] * Decimal("1.1")}  # type: ignore[operator]
                lines[0]["net_amount"] = round_decimal(
                    lines[0]["quantity"] * lines[0]["unit_price"],  # type: ignore[operator]
                    minor_units(version.currency),
                    RoundingMode.HALF_UP,
                )
            bill_to_id = None
            if index == 3 and month == 7 and len(chosen) > 4:
                bill_to_id = chosen[4][1][-1].bill_to_id
            invoice = writer.write(contract, version, period.start, lines, bill_to_id=bill_to_id)
            if index == 2 and month == 6:
                writer.write(contract, version, period.start + dt.timedelta(days=3), lines)
            if index == 5 and month == 8:
                half = {**lines[0], "net_amount": lines[0]["net_amount"] / 2}  # type: ignore[operator]
                writer.write(
                    contract,
                    version,
                    period.start + dt.timedelta(days=10),
                    [half],
                    credited=invoice,
                )
    writer.write(
        None,
        None,
        dt.date(2026, 4, 14),
        [
            {
                "description": "Workshop",
                "quantity": Decimal(1),
                "unit_price": Decimal("900"),
                "net_amount": Decimal("900.00"),
            }
        ],
    )
    return writer.count


def main() -> int:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billguard.settings")
    django.setup()
    written = sample_history_create()
    print(f"{written} imported invoices and credit notes written for the leakage audit sample")
    return 0


if __name__ == "__main__":
    sys.exit(main())
