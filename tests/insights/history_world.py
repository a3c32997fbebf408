"""A generated contract book with an imported invoice history, and an audit of it in Python.

``build_world`` creates contracts (several versions, price lists, discounts, fixed and index
price changes, three cadences and billing days, currencies with 0, 2 and 3 decimals) and
bills each billing period correctly, except where a seeded fault changes the amount. The
correct amounts come from ``reference_net``, which prices through the registry and the
domain core as the billing run does (registry.pricing, domain.periods, domain.proration,
domain.rounding). ``reference_findings`` applies the audit's rules one line at a time in
Python, so the tests can compare it with the set-based SQL finding by finding.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from billguard.domain.currencies import minor_units
from billguard.domain.periods import BillingPeriod, Cadence, period_containing
from billguard.domain.proration import prorate
from billguard.domain.rounding import RoundingMode, round_decimal
from billguard.history.models import ImportedInvoice, ImportedInvoiceLine
from billguard.registry.models import (
    BillToEntity,
    Contract,
    ContractLine,
    ContractVersion,
    Discount,
    Document,
    Party,
    PriceList,
    PriceListItem,
    ScheduledPriceChange,
    SellerEntity,
)
from billguard.registry.pricing import approved_discount, contract_line, price_on, version_in_force

D = Decimal
DAY = dt.timedelta(days=1)
HISTORY_START = dt.date(2026, 1, 1)
HISTORY_END = dt.date(2026, 10, 31)
FIXED = "recurring_fixed"

# Every fault the generator can seed, with the finding code the audit must report for it.
FAULT_CODES = {
    "price": "PRICE_MISMATCH",
    "old_price": "ESCALATION_NOT_APPLIED",
    "quantity": "QUANTITY_MISMATCH",
    "no_discount": "LINE_AMOUNT_MISMATCH",
    "no_proration": "LINE_AMOUNT_MISMATCH",
    "missed": "BILLING_PERIOD_MISSED",
    "duplicate": "ALREADY_INVOICED",
    "wrong_bill_to": "BILL_TO_MISMATCH",
    "no_contract": "CONTRACT_NOT_FOUND",
    "expired": "CONTRACT_EXPIRED",
    "before_start": "CONTRACT_NOT_ACTIVE",
    "currency": "CURRENCY_MISMATCH",
    "unknown_line": "CONTRACT_LINE_NOT_FOUND",
    "no_price": "CONTRACT_PRICE_NOT_FOUND",
}


@dataclass
class World:
    contracts: list[Contract] = field(default_factory=list)
    seeded: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    clean_contracts: list[str] = field(default_factory=list)
    invoice_count: int = 0


# ---------------------------------------------------------------------------------------------
# Pricing through the registry and the domain core


def anchor_month(versions: list[ContractVersion]) -> int:
    return min(version.effective_from for version in versions).month


def billing_period(
    version: ContractVersion, versions: list[ContractVersion], day: dt.date
) -> BillingPeriod:
    cadence = Cadence(version.cadence or "monthly")
    return period_containing(
        day, cadence, version.billing_day or 1, anchor_month=anchor_month(versions)
    )


def reference_net(
    versions: list[ContractVersion],
    version: ContractVersion,
    line_code: str,
    day: dt.date,
    start: dt.date | None,
    end: dt.date | None,
    billed_quantity: Decimal,
    items: list[PriceListItem],
) -> Decimal | None:
    """Return the contract's net amount for a line, or None when the contract has no price."""
    terms = contract_line(version, line_code)
    if terms is None:
        return None
    quote = price_on(version, terms, day, items)
    if quote.unit_price is None:
        return None
    fixed = terms.kind == FIXED
    quantity = billed_quantity
    if fixed:
        quantity = terms.quantity if terms.quantity is not None else D(1)
    discount = approved_discount(version, line_code, day)
    percent = discount.percent if discount is not None else D(0)
    discounted = quantity * quote.unit_price * (D(100) - percent) / D(100)
    decimals = minor_units(version.currency)
    if fixed and start is not None and end is not None:
        period = billing_period(version, versions, start)
        covered = (min(end + DAY, period.end) - start).days
        if covered < period.days:
            return round_decimal(
                prorate(discounted, covered, period.days), decimals, RoundingMode.HALF_UP
            )
    return round_decimal(discounted, decimals, RoundingMode.HALF_UP)


def unit_price_steps(
    version: ContractVersion, line_code: str, day: dt.date, items: list[PriceListItem]
) -> tuple[Decimal, ...]:
    """Return the base price and the price after each change due on ``day``."""
    from billguard.checks.line_terms import price_after_changes
    from billguard.registry.pricing import price_list_item_on

    terms = contract_line(version, line_code)
    assert terms is not None
    quote = price_on(version, terms, day, items)
    base = terms.unit_price
    if base is None:
        item = price_list_item_on(items, version.price_list_id, terms.product_code, day)
        assert item is not None
        base = item.unit_price
    return price_after_changes(base, quote.applied_changes)


def term_end(version: ContractVersion) -> dt.date | None:
    if version.renewal_terms == "auto_renew" and version.renewal_months:
        return None
    return version.end_date


# ---------------------------------------------------------------------------------------------
# The generated book


CURRENCIES = ("EUR", "JPY", "BHD", "USD", "EUR")
CADENCES = ("monthly", "monthly", "quarterly", "yearly")
BILLING_DAYS = (1, 15, 31, 1)


def build_world(seed: int = 7, contracts: int = 24) -> World:
    rng = random.Random(seed)
    world = World()
    seller = SellerEntity.objects.create(code="seller", name="Seller GmbH", country="DE")
    price_lists = {}
    for currency in sorted(set(CURRENCIES)):
        price_list = PriceList.objects.create(
            code=f"PL-{currency}", name=f"List {currency}", currency=currency
        )
        PriceListItem.objects.create(
            price_list=price_list,
            product_code="P-A",
            unit_price=D("210.125"),
            valid_from=dt.date(2025, 1, 1),
            valid_to=dt.date(2026, 6, 1),
        )
        PriceListItem.objects.create(
            price_list=price_list,
            product_code="P-A",
            unit_price=D("225.4375"),
            valid_from=dt.date(2026, 6, 1),
        )
        price_lists[currency] = price_list

    for index in range(contracts):
        contract = _make_contract(rng, index, seller, price_lists)
        world.contracts.append(contract)
    for index, contract in enumerate(world.contracts):
        _bill_history(rng, world, contract, clean=index % 6 == 0)
    _unmatched_invoices(world)
    return world


def _make_contract(
    rng: random.Random, index: int, seller: SellerEntity, price_lists: dict[str, PriceList]
) -> Contract:
    party = Party.objects.create(
        code=f"CU-{index}", kind="customer", name=f"Customer {index}", country="DE"
    )
    bill_to = BillToEntity.objects.create(
        party=party, code=f"BT-{index}", name=party.name, country="DE"
    )
    BillToEntity.objects.create(
        party=party, code=f"BT-{index}-B", name=f"{party.name} B", country="DE"
    )
    contract_type = ("services", "subscription", "usage", "project")[index % 4]
    contract = Contract.objects.create(
        number=f"C-{index:03d}",
        party=party,
        seller_entity=seller,
        contract_type=contract_type,
        status="active",
    )
    currency = CURRENCIES[index % len(CURRENCIES)]
    sow_state = index % 5  # 0 unsigned SOW, 1 no SOW, others a signed SOW
    sow = None
    if sow_state != 1:
        sow = Document.objects.create(
            kind="sow",
            family=f"SOW-{index}",
            revision=1,
            title="SOW",
            sha256="0" * 64,
            size=1,
            storage_path="none",
            signed_on=None if sow_state == 0 else dt.date(2025, 11, 1),
        )
    starts = [dt.date(2025, 12, 1) + dt.timedelta(days=rng.randrange(0, 20))]
    for _ in range(rng.randrange(0, 3)):
        starts.append(starts[-1] + dt.timedelta(days=rng.randrange(70, 140)))
    end_date = dt.date(2026, 9, 30) if index % 7 == 3 else None
    for number, start in enumerate(starts, start=1):
        version = ContractVersion.objects.create(
            contract=contract,
            version_number=number,
            effective_from=start,
            currency=currency,
            cadence=CADENCES[index % len(CADENCES)],
            billing_day=BILLING_DAYS[(index // 2) % len(BILLING_DAYS)],
            price_list=price_lists[currency],
            bill_to=bill_to,
            tax_category="S",
            payment_terms_days=30,
            customer_po="PO-1",
            escalation_contact="" if index % 9 == 4 else "ops@example.com",
            sow_document=sow,
            end_date=end_date,
            renewal_terms="auto_renew" if index % 7 == 5 else "none",
            renewal_months=12 if index % 7 == 5 else None,
        )
        price = D(rng.choice(["99.99", "1234.5678", "12.3456", "5000", "333.33"])) * number
        ContractLine.objects.create(
            version=version,
            line_code="L1",
            kind=FIXED,
            description="Fee",
            quantity=D(rng.choice(["1", "2.5", "3"])),
            unit_price=price,
        )
        ContractLine.objects.create(
            version=version,
            line_code="L2",
            kind=FIXED,
            description="Listed",
            product_code="P-A",
            quantity=D("1"),
            unit_price=None,
        )
        ContractLine.objects.create(
            version=version,
            line_code="U1",
            kind="usage",
            description="Usage",
            unit_price=D("0.125"),
        )
        if index % 3 == 0:
            Discount.objects.create(
                version=version,
                line_code="L1",
                percent=D("10"),
                approval_reference="AP-1",
                expires_on=dt.date(2026, 5, 31),
            )
        if index % 4 == 1:
            Discount.objects.create(version=version, percent=D("5"), approval_reference="AP-2")
        if index % 2 == 0:
            ScheduledPriceChange.objects.create(
                version=version,
                line_code="L1",
                effective_on=start + dt.timedelta(days=45),
                kind="fixed_uplift",
                uplift_percent=D("3.5"),
            )
        if index % 3 == 1:
            ScheduledPriceChange.objects.create(
                version=version,
                line_code="L2",
                effective_on=start + dt.timedelta(days=60),
                kind="index",
                index_name="CPI",
                index_base_value=D("100.0"),
                index_value=D("104.2"),
            )
            ScheduledPriceChange.objects.create(
                version=version,
                line_code="L2",
                effective_on=start + dt.timedelta(days=61),
                kind="index",
                index_name="CPI",
                index_base_value=D("100.0"),
                index_value=None,
            )
    return contract


def _versions(contract: Contract) -> list[ContractVersion]:
    return list(
        contract.versions.prefetch_related("lines", "discounts", "price_changes").order_by(
            "effective_from"
        )
    )


def _periods(
    contract: Contract, versions: list[ContractVersion]
) -> list[tuple[ContractVersion, BillingPeriod]]:
    """Whole billing periods inside the history and the term, with the version at their start."""
    found = []
    first = versions[0]
    day = max(first.effective_from, HISTORY_START)
    period = billing_period(first, versions, day)
    while period.start <= HISTORY_END:
        version = version_in_force(versions, period.start)
        if version is not None:
            end = term_end(version)
            inside = period.start >= day and period.last_day <= HISTORY_END
            if inside and (end is None or period.last_day <= end):
                found.append((version, period))
        period = billing_period(version or first, versions, period.end)
    return found


class _Invoicer:
    def __init__(self, world: World) -> None:
        self.world = world

    def invoice(
        self,
        contract: Contract | None,
        bill_to: BillToEntity | None,
        currency: str,
        issue_date: dt.date,
        lines: list[dict[str, object]],
        *,
        credit_for: ImportedInvoice | None = None,
    ) -> ImportedInvoice:
        self.world.invoice_count += 1
        number = self.world.invoice_count
        total = sum((line["net_amount"] for line in lines), D(0))  # type: ignore[misc]
        invoice = ImportedInvoice.objects.create(
            source="quickbooks",
            external_id=f"E{number}",
            document_type="credit_note" if credit_for is not None else "invoice",
            number=f"INV-{number}",
            customer_name=contract.party.name if contract else "Walk-in customer",
            party=contract.party if contract else None,
            bill_to=bill_to,
            contract=contract,
            issue_date=issue_date,
            currency=currency,
            line_extension=total,
            total=total,
            credited_invoice=credit_for,
            imported_at=timezone.now(),
        )
        for position, line in enumerate(lines, start=1):
            ImportedInvoiceLine.objects.create(invoice=invoice, position=position, **line)
        return invoice


def _bill_history(rng: random.Random, world: World, contract: Contract, *, clean: bool) -> None:
    versions = _versions(contract)
    items = list(PriceListItem.objects.all())
    invoicer = _Invoicer(world)
    bill_to = versions[0].bill_to
    other_bill_to = BillToEntity.objects.get(code=f"{bill_to.code}-B")
    if clean:
        world.clean_contracts.append(contract.number)
    faults = [] if clean else list(FAULT_CODES)
    periods = _periods(contract, versions)

    for number, (version, period) in enumerate(periods):
        fault = None if clean else faults[(number + contract.pk) % len(faults)]
        if fault in ("no_contract", "expired", "before_start", "no_price") or rng.random() < 0.3:
            fault = None  # placed separately below, or left clean
        if fault == "missed":
            world.seeded[fault] += 1
            continue
        lines = []
        for code in ("L1", "L2"):
            terms = contract_line(version, code)
            assert terms is not None
            quantity = terms.quantity or D(1)
            price = price_on(version, terms, period.start, items).unit_price
            assert price is not None
            start, end = period.start, period.last_day
            if code == "L2" and not clean and number % 4 == 1:
                start = period.start + dt.timedelta(days=min(9, period.days - 2))  # partial period
            net = reference_net(versions, version, code, start, start, end, quantity, items)
            assert net is not None
            if start != period.start and number % 8 == 1:
                # A partial period billed as a whole one: the proration was forgotten.
                world.seeded["no_proration"] += 1
                net = reference_net(
                    versions, version, code, start, period.start, end, quantity, items
                )
                assert net is not None
            line = {
                "line_code": code,
                "quantity": quantity,
                "unit_price": price,
                "net_amount": net,
                "service_start": start,
                "service_end": end,
            }
            if code == "L1":
                line = _with_line_fault(line, fault, version, period, items, world, versions)
            lines.append(line)
        usage_quantity = D(rng.randrange(0, 4000)) / 4
        lines.append(
            {
                "line_code": "U1",
                "quantity": usage_quantity,
                "unit_price": D("0.125"),
                "net_amount": reference_net(
                    versions,
                    version,
                    "U1",
                    period.start,
                    period.start,
                    period.last_day,
                    usage_quantity,
                    items,
                ),
                "service_start": period.start,
                "service_end": period.last_day,
            }
        )
        if fault == "unknown_line":
            world.seeded[fault] += 1
            lines.append(
                {
                    "line_code": "X9",
                    "quantity": D(1),
                    "unit_price": D(50),
                    "net_amount": D(50),
                    "service_start": period.start,
                    "service_end": period.last_day,
                }
            )
        currency = version.currency
        if fault == "currency":
            world.seeded[fault] += 1
            currency = "GBP" if version.currency != "GBP" else "EUR"
        addressed = bill_to
        if fault == "wrong_bill_to":
            world.seeded[fault] += 1
            addressed = other_bill_to
        invoice = invoicer.invoice(contract, addressed, currency, period.start, lines)
        if fault == "duplicate":
            world.seeded[fault] += 1
            invoicer.invoice(contract, addressed, currency, period.start + DAY, lines)
            if number % 2 == 0:
                # A duplicate sent and credited again, then a third copy: one copy too many.
                invoicer.invoice(contract, addressed, currency, period.start + DAY * 2, lines)
                invoicer.invoice(
                    contract, addressed, currency, period.start + DAY * 3, lines, credit_for=invoice
                )

    if clean:
        return
    _out_of_term_invoices(world, invoicer, contract, versions, items)


def _with_line_fault(
    line: dict[str, object],
    fault: str | None,
    version: ContractVersion,
    period: BillingPeriod,
    items: list[PriceListItem],
    world: World,
    versions: list[ContractVersion],
) -> dict[str, object]:
    decimals = minor_units(version.currency)
    quantity = line["quantity"]
    assert isinstance(quantity, Decimal)

    def net_for(price: Decimal, units: Decimal) -> Decimal:
        discount = approved_discount(version, "L1", period.start)
        percent = discount.percent if discount else D(0)
        return round_decimal(units * price * (100 - percent) / 100, decimals, RoundingMode.HALF_UP)

    if fault == "price":
        world.seeded[fault] += 1
        price = line["unit_price"] * D("1.1")  # type: ignore[operator]
        return {**line, "unit_price": price, "net_amount": net_for(price, quantity)}
    if fault == "old_price":
        steps = unit_price_steps(version, "L1", period.start, items)
        if len(steps) > 1 and steps[0] != steps[-1]:
            world.seeded[fault] += 1
            return {**line, "unit_price": steps[0], "net_amount": net_for(steps[0], quantity)}
    if fault == "quantity":
        world.seeded[fault] += 1
        units = quantity + 1
        return {**line, "quantity": units, "net_amount": net_for(line["unit_price"], units)}  # type: ignore[arg-type]
    if fault == "no_discount" and approved_discount(version, "L1", period.start) is not None:
        world.seeded[fault] += 1
        price = line["unit_price"]
        return {
            **line,
            "net_amount": round_decimal(quantity * price, decimals, RoundingMode.HALF_UP),
        }  # type: ignore[operator]
    return line


def _out_of_term_invoices(
    world: World,
    invoicer: _Invoicer,
    contract: Contract,
    versions: list[ContractVersion],
    items: list[PriceListItem],
) -> None:
    """Bill before the first version, after the term's end, and a line without a price."""
    first = versions[0]
    day = first.effective_from - dt.timedelta(days=5)
    line = {
        "line_code": "L1",
        "quantity": D(1),
        "unit_price": D(10),
        "net_amount": D(10),
        "service_start": day,
        "service_end": day,
    }
    if contract.pk % 4 == 0:
        world.seeded["before_start"] += 1
        invoicer.invoice(contract, first.bill_to, first.currency, HISTORY_START + DAY, [line])
    last = versions[-1]
    end = term_end(last)
    if end is not None and end < HISTORY_END:
        world.seeded["expired"] += 1
        after = end + dt.timedelta(days=3)
        invoicer.invoice(
            contract,
            last.bill_to,
            last.currency,
            after,
            [{**line, "service_start": after, "service_end": after}],
        )
    if contract.pk % 5 == 2:
        # A line whose product the price list does not have, and no unit price of its own.
        ContractLine.objects.create(
            version=last,
            line_code="N1",
            kind="milestone",
            description="No price",
            product_code="P-NONE",
        )
        world.seeded["no_price"] += 1
        day = max(last.effective_from, HISTORY_START) + dt.timedelta(days=2)
        invoicer.invoice(
            contract,
            last.bill_to,
            last.currency,
            day,
            [{**line, "line_code": "N1", "service_start": day, "service_end": day}],
        )


def _unmatched_invoices(world: World) -> None:
    invoicer = _Invoicer(world)
    for amount in (D("120.00"), D("75.50")):
        world.seeded["no_contract"] += 1
        invoicer.invoice(
            None,
            None,
            "EUR",
            dt.date(2026, 3, 3),
            [
                {
                    "line_code": "",
                    "description": "Consulting",
                    "quantity": D(1),
                    "unit_price": amount,
                    "net_amount": amount,
                }
            ],
        )


# ---------------------------------------------------------------------------------------------
# The audit's rules, one line at a time


@dataclass(frozen=True, order=True)
class RefFinding:
    code: str
    contract: str
    line_code: str
    period_start: dt.date | None
    currency: str
    invoice_id: int | None
    amount: Decimal
    expected: Decimal | None
    billed: Decimal | None


def _money(value: Decimal, currency: str) -> Decimal:
    try:
        decimals = minor_units(currency)
    except Exception:
        decimals = 2
    return round_decimal(value, decimals, RoundingMode.HALF_UP)


def reference_findings(since: dt.date | None = None) -> list[RefFinding]:
    items = list(PriceListItem.objects.all())
    contracts = {contract.pk: contract for contract in Contract.objects.all()}
    versions_of = {pk: _versions(contract) for pk, contract in contracts.items()}
    invoices = ImportedInvoice.objects.all()
    if since is not None:
        invoices = invoices.filter(issue_date__gte=since)
    invoice_by_id = {invoice.pk: invoice for invoice in invoices}
    lines = [
        line
        for line in ImportedInvoiceLine.objects.order_by("pk")
        if line.invoice_id in invoice_by_id
    ]
    found: list[RefFinding] = []

    groups: dict[tuple[object, ...], list[ImportedInvoiceLine]] = defaultdict(list)
    for line in lines:
        invoice = invoice_by_id[line.invoice_id]
        if line.service_start is None or invoice.contract_id is None:
            key: tuple[object, ...] = ("solo", line.pk)
        else:
            end = line.service_end or line.service_start
            key = (invoice.contract_id, line.line_code, line.service_start, end)
        groups[key].append(line)

    for group in groups.values():

        def order(line: ImportedInvoiceLine) -> tuple[object, ...]:
            invoice = invoice_by_id[line.invoice_id]
            return (invoice.document_type == "credit_note", invoice.issue_date, line.pk)

        group.sort(key=order)
        first = group[0]
        invoice = invoice_by_id[first.invoice_id]
        if invoice.document_type == "credit_note" or invoice.contract_id is None:
            continue
        credits = [
            row for row in group if invoice_by_id[row.invoice_id].document_type == "credit_note"
        ]
        copies = len(group) - len(credits)
        key_net = sum((row.net_amount for row in group if row not in credits), D(0)) - sum(
            (abs(row.net_amount) for row in credits), D(0)
        )
        billed = first.net_amount if copies - len(credits) >= 2 else key_net
        contract = contracts[invoice.contract_id]
        currency = invoice.currency
        start = first.service_start
        if copies - len(credits) >= 2:
            found.append(
                RefFinding(
                    "ALREADY_INVOICED",
                    contract.number,
                    first.line_code,
                    start,
                    currency,
                    invoice.pk,
                    _money(key_net - first.net_amount, currency),
                    _money(first.net_amount, currency),
                    _money(key_net, currency),
                )
            )
        versions = versions_of[contract.pk]
        day = first.service_start or invoice.issue_date
        version = version_in_force(versions, day)

        def at_risk(
            code: str,
            contract: Contract = contract,
            first: ImportedInvoiceLine = first,
            start: dt.date | None = start,
            currency: str = currency,
            invoice: ImportedInvoice = invoice,
            billed: Decimal = billed,
        ) -> RefFinding:
            return RefFinding(
                code,
                contract.number,
                first.line_code,
                start,
                currency,
                invoice.pk,
                _money(billed, currency),
                None,
                _money(billed, currency),
            )

        if version is None:
            found.append(at_risk("CONTRACT_NOT_ACTIVE"))
            continue
        end_of_term = term_end(version)
        if end_of_term is not None and day > end_of_term:
            found.append(at_risk("CONTRACT_EXPIRED"))
            continue
        if currency != version.currency:
            found.append(at_risk("CURRENCY_MISMATCH"))
            continue
        terms = contract_line(version, first.line_code)
        if terms is None:
            found.append(at_risk("CONTRACT_LINE_NOT_FOUND"))
            continue
        expected = reference_net(
            versions,
            version,
            first.line_code,
            day,
            first.service_start,
            first.service_end or first.service_start,
            first.quantity,
            items,
        )
        if expected is None:
            found.append(at_risk("CONTRACT_PRICE_NOT_FOUND"))
            continue
        if expected == billed:
            continue
        steps = unit_price_steps(version, first.line_code, day, items)
        if first.unit_price != steps[-1] and first.unit_price in steps[:-1]:
            code = "ESCALATION_NOT_APPLIED"
        elif first.unit_price != steps[-1]:
            code = "PRICE_MISMATCH"
        elif terms.kind == FIXED and first.quantity != (terms.quantity or D(1)):
            code = "QUANTITY_MISMATCH"
        else:
            code = "LINE_AMOUNT_MISMATCH"
        found.append(
            RefFinding(
                code,
                contract.number,
                first.line_code,
                start,
                currency,
                invoice.pk,
                _money(abs(expected - billed), currency),
                expected,
                _money(billed, currency),
            )
        )

    for invoice in invoice_by_id.values():
        if invoice.document_type != "invoice":
            continue
        amount = _money(invoice.line_extension, invoice.currency)
        if invoice.contract_id is None:
            found.append(
                RefFinding(
                    "CONTRACT_NOT_FOUND",
                    "",
                    "",
                    None,
                    invoice.currency,
                    invoice.pk,
                    amount,
                    None,
                    amount,
                )
            )
            continue
        own = [row for row in lines if row.invoice_id == invoice.pk]
        if not own:
            continue
        day = min(row.service_start or invoice.issue_date for row in own)
        version = version_in_force(versions_of[invoice.contract_id], day)
        if (
            version is not None
            and invoice.bill_to_id
            and version.bill_to_id
            and invoice.bill_to_id != version.bill_to_id
        ):
            found.append(
                RefFinding(
                    "BILL_TO_MISMATCH",
                    contracts[invoice.contract_id].number,
                    "",
                    None,
                    invoice.currency,
                    invoice.pk,
                    amount,
                    None,
                    amount,
                )
            )

    found += _reference_missed(since, contracts, versions_of, invoice_by_id, lines, items)
    return sorted(
        found,
        key=lambda f: (f.code, f.contract, f.line_code, str(f.period_start), f.invoice_id or 0),
    )


def _reference_missed(
    since: dt.date | None,
    contracts: dict[int, Contract],
    versions_of: dict[int, list[ContractVersion]],
    invoice_by_id: dict[int, ImportedInvoice],
    lines: list[ImportedInvoiceLine],
    items: list[PriceListItem],
) -> list[RefFinding]:
    billed_lines = [
        row for row in lines if invoice_by_id[row.invoice_id].document_type == "invoice"
    ]
    if not billed_lines:
        return []
    first_day = since or min(
        row.service_start or invoice_by_id[row.invoice_id].issue_date for row in billed_lines
    )
    ends = [
        row.service_end or row.service_start
        for row in billed_lines
        if (row.service_end or row.service_start)
    ]
    last_day = max(ends)  # type: ignore[type-var]
    covered: dict[tuple[int, str], list[tuple[dt.date, dt.date]]] = defaultdict(list)
    for line in billed_lines:
        invoice = invoice_by_id[line.invoice_id]
        if invoice.contract_id is not None and line.service_start is not None:
            covered[(invoice.contract_id, line.line_code)].append(
                (line.service_start, line.service_end or line.service_start)
            )
    found = []
    in_history = {invoice_by_id[row.invoice_id].contract_id for row in billed_lines}
    for pk, versions in versions_of.items():
        contract = contracts[pk]
        if pk not in in_history:
            continue
        for position, version in enumerate(versions):
            following = (
                versions[position + 1].effective_from if position + 1 < len(versions) else None
            )
            range_start = max(version.effective_from, first_day)
            candidates = [last_day]
            if following is not None:
                candidates.append(following - DAY)
            if term_end(version) is not None:
                candidates.append(term_end(version))  # type: ignore[arg-type]
            range_last = min(candidates)
            if range_start > range_last:
                continue
            for terms in version.lines.all():
                if terms.kind != FIXED:
                    continue
                period = billing_period(version, versions, range_start)
                while period.start <= range_last:
                    inside = period.start >= range_start and period.last_day <= range_last
                    spans = covered[(pk, terms.line_code)]
                    billed = any(s < period.end and e >= period.start for s, e in spans)
                    if inside and not billed:
                        amount = reference_net(
                            versions,
                            version,
                            terms.line_code,
                            period.start,
                            period.start,
                            period.last_day,
                            D(0),
                            items,
                        )
                        if amount is not None:
                            found.append(
                                RefFinding(
                                    "BILLING_PERIOD_MISSED",
                                    contract.number,
                                    terms.line_code,
                                    period.start,
                                    version.currency,
                                    None,
                                    amount,
                                    amount,
                                    D(0),
                                )
                            )
                    period = billing_period(version, versions, period.end)
    return found
