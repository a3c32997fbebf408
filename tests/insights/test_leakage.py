"""The leakage audit's SQL against a Python re-pricing through the registry and the domain core.

The same tests run on SQLite (the audit copies the tables into DuckDB) and on PostgreSQL,
whichever BILLGUARD_DATABASE_URL names.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings

from billguard.insights.leakage import Finding, leakage_audit
from tests.insights.history_world import (
    FAULT_CODES,
    HISTORY_START,
    RefFinding,
    build_world,
    reference_findings,
)

pytestmark = pytest.mark.django_db

# On PostgreSQL the audit also runs in the database itself; both engines must agree.
ENGINES = (
    ["auto", "postgresql"] if "postgresql" in settings.DATABASES["default"]["ENGINE"] else ["auto"]
)


def as_reference(finding: Finding) -> RefFinding:
    return RefFinding(
        finding.code,
        finding.contract,
        finding.line_code,
        finding.period_start,
        finding.currency,
        finding.invoice_id,
        finding.amount,
        finding.expected,
        finding.billed,
    )


def sorted_findings(findings: list[RefFinding]) -> list[RefFinding]:
    return sorted(
        findings,
        key=lambda f: (f.code, f.contract, f.line_code, str(f.period_start), f.invoice_id or 0),
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_audit_matches_python_repricing(engine: str) -> None:
    world = build_world(seed=7)
    report = leakage_audit(HISTORY_START, with_findings=True, engine_name=engine)

    audited = sorted_findings([as_reference(f) for f in report.findings])
    expected = reference_findings(HISTORY_START)
    assert len(audited) == len(expected)
    for got, want in zip(audited, expected, strict=True):
        assert got == want
    assert world.invoice_count > 100


def test_audit_finds_every_seeded_fault() -> None:
    world = build_world(seed=11)
    report = leakage_audit(HISTORY_START, with_findings=True)

    codes = {finding.code for finding in report.findings}
    for fault, count in world.seeded.items():
        assert count > 0, fault
        assert FAULT_CODES[fault] in codes, fault
    assert set(world.seeded) == set(FAULT_CODES)


def test_audit_quiet_on_clean_contracts() -> None:
    world = build_world(seed=7)
    report = leakage_audit(HISTORY_START, with_findings=True)

    assert world.clean_contracts
    noisy = [f for f in report.findings if f.contract in world.clean_contracts]
    assert noisy == []


@pytest.mark.parametrize("engine", ENGINES)
def test_audit_without_since_matches_python(engine: str) -> None:
    build_world(seed=3, contracts=12)
    report = leakage_audit(with_findings=True, engine_name=engine)

    audited = sorted_findings([as_reference(f) for f in report.findings])
    assert audited == reference_findings(None)


def test_audit_sums_findings_per_currency() -> None:
    build_world(seed=5, contracts=12)
    report = leakage_audit(HISTORY_START, with_findings=True)

    for money in report.totals:
        own = [f for f in report.findings if f.currency == money.currency]
        assert money.findings == len(own)
        under = sum(f.amount for f in own if f.direction == "under")
        assert money.under_billed == under
        over = sum(f.amount for f in own if f.direction == "over")
        assert money.over_billed == over
    by_customer = sum(row.money.findings for row in report.by_customer)
    assert by_customer == len(report.findings)
    by_contract = sum(row.money.findings for row in report.by_contract)
    assert by_contract == len(report.findings)


def test_since_skips_older_invoices() -> None:
    build_world(seed=5, contracts=12)
    report = leakage_audit(dt.date(2026, 7, 1), with_findings=True)

    assert report.first_day == dt.date(2026, 7, 1)
    periods = [f.period_start for f in report.findings if f.period_start is not None]
    missed = [f for f in report.findings if f.code == "BILLING_PERIOD_MISSED"]
    assert all(f.period_start >= dt.date(2026, 7, 1) for f in missed)
    assert periods


def test_prorated_discounted_uplifted_line() -> None:
    """One line worked out by hand: 2 x 123.4567 EUR, +3.5 % from March, -10 %, 22 of 31 days.

    127.7776845 rounds to 127.7777 per unit; 2 x 127.7777 x 0.9 = 229.99986; x 22 / 31 =
    163.2257716..., so 163.23 EUR is due and 150.00 EUR was billed.
    """
    from decimal import Decimal

    from django.utils import timezone

    from billguard.history.models import ImportedInvoice, ImportedInvoiceLine
    from billguard.registry.models import (
        BillToEntity,
        Contract,
        ContractLine,
        ContractVersion,
        Discount,
        Party,
        ScheduledPriceChange,
        SellerEntity,
    )

    seller = SellerEntity.objects.create(code="s", name="S", country="DE")
    party = Party.objects.create(code="P", kind="customer", name="Hand Co", country="DE")
    bill_to = BillToEntity.objects.create(party=party, code="P-BT", name="Hand Co", country="DE")
    contract = Contract.objects.create(
        number="H-1", party=party, seller_entity=seller, contract_type="services"
    )
    version = ContractVersion.objects.create(
        contract=contract,
        version_number=1,
        effective_from=dt.date(2026, 1, 1),
        currency="EUR",
        cadence="monthly",
        billing_day=1,
        bill_to=bill_to,
    )
    ContractLine.objects.create(
        version=version,
        line_code="L1",
        kind="recurring_fixed",
        description="Fee",
        quantity=Decimal(2),
        unit_price=Decimal("123.4567"),
    )
    Discount.objects.create(version=version, line_code="L1", percent=Decimal(10))
    ScheduledPriceChange.objects.create(
        version=version,
        line_code="L1",
        effective_on=dt.date(2026, 3, 1),
        kind="fixed_uplift",
        uplift_percent=Decimal("3.5"),
    )
    invoice = ImportedInvoice.objects.create(
        source="xero",
        external_id="X1",
        number="INV-1",
        customer_name="Hand Co",
        party=party,
        bill_to=bill_to,
        contract=contract,
        issue_date=dt.date(2026, 3, 10),
        currency="EUR",
        line_extension=Decimal("150.00"),
        imported_at=timezone.now(),
    )
    ImportedInvoiceLine.objects.create(
        invoice=invoice,
        position=1,
        line_code="L1",
        quantity=Decimal(2),
        unit_price=Decimal("127.7777"),
        net_amount=Decimal("150.00"),
        service_start=dt.date(2026, 3, 10),
        service_end=dt.date(2026, 3, 31),
    )

    report = leakage_audit(with_findings=True)

    assert len(report.findings) == 1
    finding = report.findings[0]
    assert finding.code == "LINE_AMOUNT_MISMATCH"
    assert finding.direction == "under"
    assert finding.expected == Decimal("163.23")
    assert finding.amount == Decimal("13.23")
    assert report.totals[0].under_billed == Decimal("13.23")


def test_contract_without_history_has_no_missed_periods() -> None:
    world = build_world(seed=7)
    silent = world.contracts[1]
    history = silent.imported_invoices.all()  # type: ignore[attr-defined]
    history.filter(credited_invoice__isnull=False).delete()
    history.delete()

    report = leakage_audit(HISTORY_START, with_findings=True)

    missed = [f for f in report.findings if f.code == "BILLING_PERIOD_MISSED"]
    assert missed
    assert all(f.contract != silent.number for f in missed)


def test_remediation_ranks_by_invoiced_amount() -> None:
    build_world(seed=7)
    report = leakage_audit(HISTORY_START)

    assert report.remediation
    for currency in {row.currency for row in report.remediation}:
        rows = [row for row in report.remediation if row.currency == currency]
        assert [row.rank for row in rows] == list(range(1, len(rows) + 1))
        amounts = [row.invoiced for row in rows]
        assert amounts == sorted(amounts, reverse=True)
    # C-011 (a project) has no SOW, C-000 an unsigned one, C-004 no escalation contact.
    flagged = {row.contract: row for row in report.remediation}
    assert flagged["C-000"].sow_missing
    assert flagged["C-011"].sow_missing
    assert flagged["C-004"].missing_fields == ["escalation contact"]
    assert "C-002" not in flagged
    # A subscription needs no SOW document, so C-001 (no SOW, every field) is not listed.
    assert "C-001" not in flagged


def test_remediation_counts_credit_notes() -> None:
    from decimal import Decimal

    from django.utils import timezone

    from billguard.history.models import ImportedInvoice

    build_world(seed=7)
    credited = ImportedInvoice.objects.filter(contract__number="C-000").earliest("issue_date")
    ImportedInvoice.objects.create(
        source="quickbooks",
        external_id="CN-TEST",
        document_type="credit_note",
        number="CN-TEST",
        customer_name=credited.customer_name,
        party=credited.party,
        bill_to=credited.bill_to,
        contract=credited.contract,
        issue_date=dt.date(2026, 2, 20),
        currency=credited.currency,
        line_extension=Decimal("12.50"),
        credited_invoice=credited,
        imported_at=timezone.now(),
    )

    report = leakage_audit(HISTORY_START)

    row = next(row for row in report.remediation if row.contract == "C-000")
    assert row.credit_notes == 1
    assert row.credited == Decimal("12.50")
    invoiced = sum(
        invoice.line_extension
        for invoice in ImportedInvoice.objects.filter(
            contract__number="C-000", document_type="invoice", issue_date__gte=HISTORY_START
        )
    )
    assert row.invoiced == invoiced
